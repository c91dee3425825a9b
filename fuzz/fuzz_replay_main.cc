// A main() for fuzz targets built without libFuzzer: runs every file named
// on the command line, and every regular file inside each directory named
// (sorted, not recursive), through LLVMFuzzerTestOneInput once. ctest runs
// it over fuzz/corpus/<target>/ so that committed inputs, crashes found
// earlier included, stay regression tests on every compiler.
//
// Exit status: 0 when every input ran, 1 when an argument cannot be read or
// names no input at all. A crash is a crash (the test fails).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 1;
  }
  size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> inputs;
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(argv[i], ec)) {
        if (e.is_regular_file()) inputs.push_back(e.path());
      }
      std::sort(inputs.begin(), inputs.end());
    } else {
      inputs.emplace_back(argv[i]);
    }
    if (ec || inputs.empty()) {
      std::fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[i]);
      return 1;
    }
    for (const fs::path& path : inputs) {
      std::string data;
      if (!ReadFile(path, &data)) {
        std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
        return 1;
      }
      std::fprintf(stderr, "replay %s (%zu bytes)\n", path.c_str(),
                   data.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                             data.size());
      ++ran;
    }
  }
  std::fprintf(stderr, "%s: replayed %zu inputs\n", argv[0], ran);
  return 0;
}
