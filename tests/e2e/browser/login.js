// login.js — a person in a real headless Chromium: opens the URL `burrow access login`
// printed, logs in with the built-in provider's form, checks the consent page shows the
// code the terminal showed, clicks Allow, and prints where it ended up.
//
//   node login.js --url URL --email E --password P [--code C] [--shots DIR] [--wrong N] [--logout URL]
//                 [--idp NAME]
//
// Prints one line per page: "PAGE <status> <h1> | <first paragraph>", then "RESULT <h1>".
// --wrong N: first submits N wrong passwords. --logout URL: then logs out there and opens URL
// again (the login form must show). Hostnames resolve to 127.0.0.1.
'use strict';
const { chromium } = require('playwright-core');

function args() {
  const a = { shots: null, code: null, wrong: 0 };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  a.wrong = Number(a.wrong || 0);
  return a;
}

async function describe(page, status, shots, n) {
  const h1 = (await page.locator('h1').first().textContent().catch(() => '')) || '';
  const p = (await page.locator('main p').first().textContent().catch(() => '')) || '';
  console.log(`PAGE ${status} ${h1.trim()} | ${p.trim().replace(/\s+/g, ' ')}`);
  if (shots) await page.screenshot({ path: `${shots}/${String(n).padStart(2, '0')}-${h1.trim().replace(/\W+/g, '-').toLowerCase()}.png`, fullPage: true });
  return h1.trim();
}

(async () => {
  const a = args();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--host-resolver-rules=MAP * 127.0.0.1', '--no-sandbox'],
  });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 760 } });
  const page = await ctx.newPage();
  let n = 0;
  let resp = await page.goto(a.url);
  let h1 = await describe(page, resp.status(), a.shots, n++);
  // --idp NAME: the edge's login page offers providers; click NAME's button, then log in at the
  // provider (oidc-provider's dev form: any password) and consent, until back on the edge.
  if (a.idp) {
    const link = page.locator(`a.idp[href*="/login/${a.idp}?"]`);
    if (!(await link.count())) {
      console.log(`ERROR no button for provider ${a.idp}`);
      process.exit(4);
    }
    await Promise.all([page.waitForNavigation(), link.click()]);
    for (let step = 0; step < 6; step++) {
      const here = new URL(page.url());
      if (here.hostname !== '127.0.0.1') break; // back on the edge (the provider is the IP issuer)
      if (await page.locator('input[name=login]').count()) {
        await page.fill('input[name=login]', a.email);
        await page.fill('input[name=password]', 'any-password');
      }
      const button = page.locator('button[type=submit]');
      if (!(await button.count())) break;
      const [r] = await Promise.all([page.waitForNavigation(), button.first().click()]);
      resp = r || resp;
    }
    h1 = await describe(page, resp ? resp.status() : 0, a.shots, n++);
  }
  for (let i = 0; i <= a.wrong && !a.idp && h1.startsWith('Log in'); i++) {
    await page.fill('#email', a.email);
    await page.fill('#password', i < a.wrong ? 'wrong-' + a.password : a.password);
    const [r] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    h1 = await describe(page, r ? r.status() : 0, a.shots, n++);
  }
  if (h1.startsWith('Connect to')) {
    const code = (await page.locator('.code').textContent()).trim();
    if (a.code && code !== a.code) {
      console.log(`CODE MISMATCH page=${code} terminal=${a.code}`);
      process.exit(3);
    }
    const [r] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    h1 = await describe(page, r ? r.status() : 0, a.shots, n++);
  }
  console.log(`RESULT ${h1}`);
  if (a.logout) {
    // logging out clears the org session: the next visit asks for the password again
    const r = await page.goto(a.logout);
    await describe(page, r.status(), a.shots, n++);
    const again = await page.goto(a.url);
    await describe(page, again.status(), a.shots, n++);
  }
  await browser.close();
})().catch((e) => {
  console.log(`ERROR ${e.message.split('\n')[0]}`);
  process.exit(2);
});
