// oidc_login.js — a person in a real headless Chromium at an OpenID provider: opens the
// authorization URL the edge's relying party made, logs in at the provider (oidc-provider's dev
// login form: any password), consents, and prints the URL the provider sent the browser back to.
// That redirect (https://auth.site.test:PORT/cdn-cgi/access/callback?...) is only recorded, so
// nothing needs to listen there.
//
//   node oidc_login.js --url URL --login NAME [--cancel 1]
//
// Prints "CALLBACK <url>", or "ERROR <why>". --cancel 1 clicks the login page's Cancel link
// instead (the provider answers error=access_denied).
'use strict';
const { chromium } = require('playwright-core');

(async () => {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--host-resolver-rules=MAP * 127.0.0.1', '--no-sandbox'],
  });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  let callback = null;
  // The provider redirects there at the end of a redirect chain, which page.route does not see:
  // the request event does (the navigation itself then fails: nothing listens there).
  page.on('request', (req) => {
    if (!callback && req.url().includes('/cdn-cgi/access/callback')) callback = req.url();
  });
  await page.goto(a.url);
  for (let step = 0; step < 6 && !callback; step++) {
    if (await page.locator('input[name=login]').count()) {
      if (a.cancel) {
        await Promise.all([page.waitForNavigation().catch(() => {}), page.click('text=[ Cancel ]')]);
        continue;
      }
      await page.fill('input[name=login]', a.login);
      await page.fill('input[name=password]', 'any-password');
    }
    if (callback) break;
    const button = page.locator('button[type=submit]');
    if (!(await button.count())) break;
    await Promise.all([page.waitForNavigation().catch(() => {}), button.first().click()]);
  }
  if (!callback) {
    const text = ((await page.textContent('body').catch(() => '')) || '').replace(/\s+/g, ' ').slice(0, 200);
    console.log(`ERROR no redirect to the callback; the page says: ${text}`);
    await browser.close();
    process.exit(3);
  }
  console.log(`CALLBACK ${callback}`);
  await browser.close();
})().catch((e) => {
  console.log(`ERROR ${e.message.split('\n')[0]}`);
  process.exit(2);
});
