// The teller console in a real browser (Chromium through playwright-core),
// against `txscreen serve` in embedded mode, end to end: a transaction
// produced with kcat is intercepted, the hold is pushed to the signed-in
// teller's page, a release without a supervisor is refused (the reason shown
// in Chinese, then in English), the teller cancels, and the Disposition
// arrives on txscreen.dispositions.
//
// Run by ctest (browser_console), which sets TXSCREEN_BIN and
// TXSCREEN_SOURCE_DIR (and TXSCREEN_BROWSER_OUT, where the screenshots go).
// Needs: node 20, /usr/bin/chromium, kcat, and `npm ci` in tests/browser
// (tools/setup does all of it). By hand, from the build directory:
//   TXSCREEN_BIN=$PWD/txscreen TXSCREEN_SOURCE_DIR=$PWD/.. \
//     node --test ../tests/browser/console.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const execFileP = promisify(execFile);

const BIN = process.env.TXSCREEN_BIN;
const SOURCE_DIR = process.env.TXSCREEN_SOURCE_DIR;
const CHROMIUM = '/usr/bin/chromium';
const TELLER = { id: 'T-0217', token: 'teller-a-token-0001' };
const TX_LINE = 7;  // of examples/transactions.jsonl: EX-007, C-3001, NJ-0102
const TX_ID = 'EX-007';
const CUSTOMER = 'C-3001';
// In the example; the page may show only the masked forms.
const RAW_ACCOUNTS = ['6222-3201-0000-3001', '6217-4501-0088-1234'];
const MASKED_ACCOUNTS = ['6222****3001', '6217****1234'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` until it returns a truthy value; throws `what` on timeout.
async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                      (last ? `: ${last.message}` : ''));
    }
    await sleep(100);
  }
}

// `txscreen serve` as a child process, its stdout and stderr kept.
class Serve {
  constructor(args, cwd) {
    this.out = '';
    this.err = '';
    this.exit = null;
    this.proc = spawn(BIN, ['serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8').on('data', (d) => { this.out += d; });
    this.proc.stderr.setEncoding('utf8').on('data', (d) => { this.err += d; });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = signal ? `signal ${signal}` : code;
        resolve(this.exit);
      });
      this.proc.on('error', (e) => { this.exit = `spawn error: ${e.message}`; resolve(this.exit); });
    });
  }
  running() { return this.exit === null; }
  // Waits for a value parsed from the output; fails at once if serve exits.
  async waitFor(what, timeoutMs, probe) {
    return until(what, timeoutMs, () => {
      if (!this.running()) {
        throw Object.assign(new Error(`txscreen serve exited (${this.exit})`), { fatal: true });
      }
      return probe();
    });
  }
  // SIGTERM, then the exit status (SIGKILL after `timeoutMs`).
  async stop(timeoutMs = 30000) {
    if (!this.running()) return this.exit;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => { if (this.running()) this.proc.kill('SIGKILL'); }, timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
  tail(n = 40) { return this.err.split('\n').slice(-n).join('\n'); }
}

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is not installed: run tools/setup ' +
                    `(npm ci in tests/browser): ${e.message}`);
  }
}

// The disposition records on the topic (JSON, one a line).
async function readDispositions(bootstrap) {
  const { stdout } = await execFileP('kcat', ['-C', '-b', bootstrap, '-t', 'txscreen.dispositions',
    '-o', 'beginning', '-e', '-q'], { timeout: 30000 });
  return stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

test('teller console: intercept, refused release, cancel, disposition', { timeout: 150000 }, async (t) => {
  assert.ok(BIN && fs.existsSync(BIN), `TXSCREEN_BIN (${BIN}) is not a file`);
  assert.ok(SOURCE_DIR && fs.existsSync(path.join(SOURCE_DIR, 'examples')),
            `TXSCREEN_SOURCE_DIR (${SOURCE_DIR}) is not the source tree`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run tools/setup`);
  const { chromium } = await loadPlaywright();
  const outDir = process.env.TXSCREEN_BROWSER_OUT || path.join(path.dirname(BIN), 'browser');
  fs.mkdirSync(outDir, { recursive: true });
  fs.rmSync(path.join(outDir, 'console-failure.png'), { force: true });
  const started = Date.now();
  const step = (s) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${s}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'txscreen-browser-'));
  let serve = null;
  let context = null;
  let page = null;
  let ok = false;
  try {
    // --- The engine: embedded Kafka, a fresh state dir, any free port.
    serve = new Serve(['--rules', path.join(SOURCE_DIR, 'rules/packs/cn'),
      '--state-dir', path.join(tmp, 'state'),
      '--roster', path.join(SOURCE_DIR, 'tests/testdata/roster.csv'),
      '--http', '127.0.0.1:0', '--input-format', 'json', '--output-format', 'json'], tmp);
    // If this process ends first (the test's timeout, ctest's, ^C), the
    // finally below may not run: the server must not outlive it.
    const orphan = () => {
      if (serve.running()) serve.proc.kill('SIGKILL');
      fs.rmSync(tmp, { recursive: true, force: true });
    };
    process.once('exit', orphan);
    for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { orphan(); process.exit(1); });
    const bootstrap = await serve.waitFor('"embedded kafka:" on stdout', 60000, () => {
      const m = /^embedded kafka: (127\.0\.0\.1:\d+)\n/.exec(serve.out);
      return m && m[1];
    });
    const port = await serve.waitFor('"teller console at" in the log', 60000, () => {
      const m = /teller console at http:\/\/127\.0\.0\.1:(\d+)\/console/.exec(serve.err);
      return m && Number(m[1]);
    });
    const base = `http://127.0.0.1:${port}`;
    await serve.waitFor('GET /readyz to answer 200', 60000, async () =>
      (await fetch(`${base}/readyz`)).status === 200);
    assert.equal(serve.out, `embedded kafka: ${bootstrap}\n`, 'exactly one line on stdout');
    step(`serve ready: kafka ${bootstrap}, console ${base}/console`);

    // --- The browser: fresh profile, no network beyond the engine.
    context = await chromium.launchPersistentContext(path.join(tmp, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(20000);
    const pageErrors = [];
    const foreign = [];
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    // HTTP errors are checked below, by URL, not by the console's message.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        pageErrors.push(`console: ${m.text()}`);
      }
    });
    const httpErrors = [];
    page.on('response', (r) => {
      if (r.status() >= 400) {
        httpErrors.push(`${r.request().method()} ${r.url().slice(base.length)} ${r.status()}`);
      }
    });
    page.on('request', (r) => { if (!r.url().startsWith(base + '/')) foreign.push(r.url()); });
    // Every override the page sends, to check ids and double clicks.
    const overrides = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url() === base + '/api/overrides') overrides.push(JSON.parse(r.postData()));
    });

    const resp = await page.goto(`${base}/console`);
    assert.equal(resp.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'Chinese by default');
    assert.equal(await page.textContent('#login h2'), '登录');

    // --- Sign in as the teller of NJ-0102.
    await page.fill('#login-token', TELLER.token);
    await page.click('#login-submit');
    await page.waitForFunction((id) => document.getElementById('who').textContent.includes(id), TELLER.id);
    assert.match(await page.textContent('#who'), /王芳 Wang Fang \(T-0217 · teller · NJ-0102\)/);
    assert.equal(await page.isVisible('#login'), false, 'the sign-in form is hidden');
    assert.equal(await page.inputValue('#login-token'), '', 'the token field is cleared');
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === 'txscreen_session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is not readable by scripts');
    // The event stream is up and the branch has no holds yet.
    await page.waitForFunction(() => document.getElementById('conn').textContent === '● 实时');
    assert.equal(await page.isVisible('#empty'), true);
    assert.equal(await page.textContent('#empty'), '本网点暂无拦截');
    step(`signed in as ${TELLER.id}; event stream live`);

    // --- The intercept: example line 7, occurred now, keyed by its customer.
    const line = fs.readFileSync(path.join(SOURCE_DIR, 'examples/transactions.jsonl'), 'utf8')
      .split('\n')[TX_LINE - 1];
    const tx = JSON.parse(line);
    assert.equal(tx.transaction_id, TX_ID);
    assert.equal(tx.customer_id, CUSTOMER);
    tx.occurred_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const txFile = path.join(tmp, 'tx.json');
    fs.writeFileSync(txFile, JSON.stringify(tx) + '\n');
    await execFileP('kcat', ['-P', '-b', bootstrap, '-t', 'txscreen.transactions', '-k', CUSTOMER, txFile],
      { timeout: 30000 });
    step(`produced ${TX_ID} with kcat`);

    // Pushed to the open page (server-sent events), no reload.
    const card = page.locator(`#list .hold[data-tx="${TX_ID}"]`);
    await card.waitFor({ state: 'visible', timeout: 30000 });
    assert.equal(await page.isVisible('#empty'), false);
    assert.match(await card.textContent(), /80,000\.00 CNY/);
    assert.match(await card.locator('.badge').textContent(), /^待处理$/);
    await card.click();
    await page.waitForFunction((id) => document.querySelector('#list .hold.sel')?.dataset.tx === id, TX_ID);
    const detail = page.locator('#detail');
    await detail.locator('[data-f="why"] li').first().waitFor();
    assert.match(await detail.locator('[data-f="amount"]').textContent(), /^80,000\.00 CNY — 拦截$/);
    assert.match(await detail.locator('[data-f="meta"]').textContent(), /客户 C-3001 · (\d+ 岁 · )?柜面 · EX-007/);
    // The time left before the hold escalates, counting down.
    await page.waitForFunction(() => /^剩余处理时间 \d+:\d\d$/.test(document.querySelector('#detail [data-f="left"]').textContent));
    const why = await detail.locator('[data-f="why"] li').allTextContents();
    const ask = await detail.locator('[data-f="ask"] li').allTextContents();
    assert.ok(why.length >= 1 && ask.length >= 1, `why ${why.length}, ask ${ask.length} lines`);
    assert.ok(why.some((l) => l.includes('安全账户')), `why: ${why.join(' | ')}`);
    assert.ok(why.some((l) => l.includes('safe account')), 'each line has its English below');
    assert.ok(ask.some((l) => /关系/.test(l)), `ask: ${ask.join(' | ')}`);
    assert.equal(await detail.locator('[data-f="look_for"] li').count() > 0, true);
    assert.equal(await detail.locator('[data-f="dissuade"] li').count() > 0, true);
    // Account numbers: masked everywhere on the page.
    const accounts = await detail.locator('[data-f="accounts"]').textContent();
    for (const m of MASKED_ACCOUNTS) assert.ok(accounts.includes(m), `"${m}" in "${accounts}"`);
    const shown = await page.evaluate(() => document.body.innerText);
    const html = await page.content();
    for (const raw of RAW_ACCOUNTS) {
      const digits = raw.replaceAll('-', '');
      for (const s of [raw, digits, digits.slice(4, 12)]) {
        assert.ok(!shown.includes(s) && !html.includes(s), `the page shows the account number ${s}`);
      }
    }
    await page.screenshot({ path: path.join(outDir, 'console-pending.png'), fullPage: true });
    step('intercept shown: why/ask lines, masked accounts');

    // --- Release without a supervisor: refused, the reason in Chinese.
    const result = page.locator('#result');
    assert.equal(await result.isVisible(), false);
    await page.click('#btn-release');
    await page.waitForFunction(() => document.getElementById('result').textContent !== '');
    assert.equal(await result.getAttribute('class'), 'bad');
    const refusedZh = await result.textContent();
    assert.match(refusedZh, /^被拒绝: .*主管/, refusedZh);
    assert.doesNotMatch(refusedZh, /[A-Z]{3,}_|HTTP \d|undefined/, 'words, not a code');
    assert.equal(await page.isVisible('#btn-cancel'), true, 'still pending');
    step(`release refused: ${refusedZh}`);

    // --- In English, the same refusal in English.
    await page.click('#lang');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.textContent('#lang'), '中文');
    assert.equal(await page.textContent('header h1'), 'Counter intercepts');
    assert.equal(await detail.locator('h2[data-t="why"]').textContent(), 'Why it is held');
    assert.match((await detail.locator('[data-f="why"] li').allTextContents()).join('\n'),
      /^Suspected .*safe account/m, 'the English line first');
    assert.match(await detail.locator('[data-f="meta"]').textContent(),
      /customer C-3001 · (\d+ years · )?counter · EX-007/, 'the channel in English');
    // (#conn keeps "● 实时" until the next event: the page sets it only then.)
    await page.click('#btn-release');
    await page.waitForFunction(() => document.getElementById('result').textContent.startsWith('Refused'));
    const refusedEn = await result.textContent();
    assert.match(refusedEn, /^Refused: .*supervisor/i, refusedEn);
    assert.equal(await result.getAttribute('class'), 'bad');
    step(`release refused: ${refusedEn}`);

    // --- The customer was dissuaded: answers, then Cancel.
    await page.fill('#answer-purpose', 'transfer to a "safe account" as told by a caller claiming to be police');
    await page.fill('#answer-relationship', 'none; never met');
    await page.fill('#answer-source', 'savings');
    await page.check('input[name="on_call"][value="yes"]');
    await page.check('input[name="remote"][value="no"]');
    await page.fill('#answer-reason', 'Customer dissuaded after the police-impersonation script was explained.');
    await page.dblclick('#btn-cancel');
    await page.waitForFunction(() => document.getElementById('result').className === 'ok', null, { timeout: 30000 });
    assert.equal(await result.textContent(), 'Accepted: cancelled');
    // A double click sent one cancel; every try carried the hold's one id.
    assert.deepEqual(overrides.map((o) => o.outcome), ['OUTCOME_RELEASE', 'OUTCOME_RELEASE', 'OUTCOME_CANCEL']);
    assert.equal(new Set(overrides.map((o) => o.override_id)).size, 1, JSON.stringify(overrides.map((o) => o.override_id)));
    assert.match(overrides[0].override_id, /^[0-9a-f]{32}$/);
    // The card: resolved, with the outcome; the form gone.
    const done = page.locator(`#list .hold.done[data-tx="${TX_ID}"]`);
    await done.waitFor({ timeout: 30000 });
    assert.equal(await done.locator('.badge').textContent(), 'cancelled');
    await detail.locator('[data-f="outcome"] h2').waitFor();
    assert.equal(await detail.locator('[data-f="form"]').isVisible(), false, 'no form once resolved');
    assert.match(await detail.locator('[data-f="outcome"] p').textContent(), /^cancelled · by T-0217 · /);
    await page.screenshot({ path: path.join(outDir, 'console.png'), fullPage: true });
    step('cancel accepted; card resolved');

    // --- Core banking's view: one Disposition, CANCEL, by the teller.
    const mine = await until(`a disposition for ${TX_ID} on txscreen.dispositions`, 30000, async () => {
      const ds = (await readDispositions(bootstrap)).filter((d) => d.transaction_id === TX_ID);
      return ds.length ? ds : null;
    });
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.equal(mine[0].outcome, 'OUTCOME_CANCEL');
    assert.equal(mine[0].teller_id, TELLER.id);
    assert.ok(!mine[0].authorizer_id, 'no authoriser for a cancel');
    step(`disposition: ${JSON.stringify(mine[0])}`);

    assert.deepEqual(pageErrors, [], 'no script errors or CSP violations');
    // Expected: "who am I" before signing in, and the two refused releases
    // (and the browser's own favicon request, if it makes one).
    assert.deepEqual(httpErrors.filter((e) => e !== 'GET /favicon.ico 404'),
      ['GET /api/console/me 401', 'POST /api/overrides 422', 'POST /api/overrides 422']);
    assert.deepEqual(foreign, [], 'no request beyond the engine');
    // No secrets in the engine's log: neither the staff token nor the
    // unmasked account numbers.
    for (const secret of [TELLER.token, ...RAW_ACCOUNTS]) {
      assert.ok(!serve.err.includes(secret), `the log shows ${secret}`);
    }
    ok = true;
  } finally {
    if (!ok && page) {
      await page.screenshot({ path: path.join(outDir, 'console-failure.png'), fullPage: true }).catch(() => {});
    }
    if (context) await context.close().catch(() => {});
    let status = null;
    if (serve) {
      status = await serve.stop();
      if (!ok) {
        t.diagnostic('txscreen serve log (last lines):');
        for (const l of serve.tail().split('\n')) t.diagnostic(`  ${l}`);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    if (ok) assert.equal(status, 0, `txscreen serve exit status\n${serve.tail()}`);
    step(`serve stopped (${status})`);
  }
});
