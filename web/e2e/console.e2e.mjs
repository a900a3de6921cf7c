// End-to-end check of the console in a real headless Chromium (Debian's `chromium`, driven
// by puppeteer-core: no browser download). tests/e2e/test_console_e2e.py starts the
// simulator, fills the ledger with the demo and runs `serve`, then runs this script with:
//   CONSOLE_URL  the served console (http://127.0.0.1:PORT/)
//   API_TOKEN    the bearer token serve was started with
//   EXECUTION_ID the demo's execution id
//   HEALTHY_MODEL / DOWN_MODEL  a model the simulator answers for / one it fails (outage)
//   ARTIFACTS    where screenshots go (created)
//   CHROMIUM     the browser binary (default /usr/bin/chromium)
// It exits non-zero with a message on the first failed expectation.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const base = env("CONSOLE_URL");
const token = env("API_TOKEN");
const executionId = env("EXECUTION_ID");
const healthy = env("HEALTHY_MODEL");
const down = env("DOWN_MODEL");
const artifacts = env("ARTIFACTS");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(artifacts, { recursive: true });

function expect(condition, message) {
  if (!condition) throw new Error(`expectation failed: ${message}`);
}

const report = { pages: {}, steps: [] };
const step = (text) => {
  report.steps.push(text);
  console.log(`e2e: ${text}`);
};

const browser = await puppeteer.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  defaultViewport: { width: 1360, height: 900 },
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  /** No serious or critical axe-core violation on the page as it is now. */
  async function accessible(name) {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const { violations } = await axe.run(document, { resultTypes: ["violations"] });
      return violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
      }));
    });
    report.pages[name] = result;
    const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad.length === 0, `${name}: axe found ${JSON.stringify(bad)}`);
  }

  async function shot(name) {
    await new Promise((r) => setTimeout(r, 300)); // let charts and fonts settle
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  }

  async function text() {
    return page.evaluate(() => document.body.innerText);
  }

  async function waitText(snippet) {
    await page.waitForFunction((s) => document.body.innerText.includes(s), {}, snippet);
  }

  const go = async (hash) => {
    await page.evaluate((h) => (window.location.hash = h), hash);
  };

  // -- the token, entered once, kept in session storage, never in a URL ----------------
  await page.goto(base, { waitUntil: "networkidle0" });
  await page.waitForSelector("input[type=password]");
  await accessible("sign-in");
  await shot("sign-in");
  await page.type("input[type=password]", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("table");
  const stored = await page.evaluate(() => sessionStorage.getItem("auterity-ai-step.token"));
  expect(stored === token, "the token is kept in sessionStorage");
  expect(!page.url().includes(token), "the token is not in the URL");
  step("signed in with the token (sessionStorage, not the URL)");

  // -- Models: health checks; the simulated outage turns the indicator red ------------
  await (await page.waitForSelector(`xpath/.//button[normalize-space()="Check ${healthy} now"]`)).click();
  await page.waitForSelector(`[aria-label="${healthy}: Available"]`);
  await (await page.waitForSelector(`xpath/.//button[normalize-space()="Check ${down} now"]`)).click();
  const red = await page.waitForSelector(`[aria-label="${down}: Unavailable"]`);
  const colour = await red.evaluate((el) => getComputedStyle(el).color);
  expect(colour === "rgb(153, 27, 27)", `the outage indicator is red (got ${colour})`);
  step(`health check: ${healthy} available, ${down} (simulated outage) unavailable in red`);
  await red.hover();
  await page.waitForSelector("[role=tooltip]");
  const tip = await page.$eval("[role=tooltip]", (el) => el.textContent);
  expect(tip.includes("Circuit:") && tip.includes("Last check:"), `tooltip: ${tip}`);
  await accessible("models");
  await shot("models");

  // -- Step builder: pick a model, reorder fallbacks, watch the estimate, save ----------
  await go("#/builder");
  await page.waitForSelector("xpath/.//h2[contains(., 'Live estimate')]");
  await waitText("prompt tokens");
  const tokensBefore = (await text()).match(/(\d+) prompt tokens/)[1];
  const model = await page.waitForSelector('xpath/.//label[normalize-space()="Model"]/following::input[1]');
  await model.click({ clickCount: 3 });
  await model.type("gpt-4o-mini");
  await page.waitForSelector("[role=option]");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  expect((await model.evaluate((el) => el.value)) === "gpt-4o-mini", "the model is picked");
  const addFallback = async (name) => {
    const box = await page.waitForSelector('xpath/.//label[normalize-space()="Add fallback model"]/following::input[1]');
    await box.click();
    await box.type(name);
    await page.waitForSelector("[role=option]");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.waitForSelector(`xpath/.//ol[@aria-label="Fallback order"]/li[contains(., "${name}")]`);
  };
  await addFallback("claude-haiku-4-5");
  await addFallback("llama3.1");
  await page.click('[aria-label="Move llama3.1 up"]');
  const order = await page.$$eval('ol[aria-label="Fallback order"] li', (items) => items.map((li) => li.textContent));
  expect(order[0].includes("llama3.1") && order[1].includes("claude-haiku-4-5"), `fallback order ${order}`);
  step("picked gpt-4o-mini and reordered the fallbacks: llama3.1, claude-haiku-4-5");
  const prompt = await page.waitForSelector('xpath/.//label[normalize-space()="Prompt"]/following::textarea[1]');
  await prompt.click();
  await page.keyboard.press("End");
  await prompt.type(" Mention opening hours, the address and the test-drive policy in detail.");
  await page.waitForFunction(
    (before) => {
      const m = document.body.innerText.match(/(\d+) prompt tokens/);
      return m && m[1] !== before;
    },
    {},
    tokensBefore,
  );
  const tokensAfter = (await text()).match(/(\d+) prompt tokens/)[1];
  step(`the estimate changed with the prompt: ${tokensBefore} -> ${tokensAfter} prompt tokens`);
  await page.waitForFunction(() => document.body.innerText.includes("Valid"));
  await page.click("xpath/.//button[normalize-space()='Save step']");
  await page.waitForSelector('[aria-label="Saved step config"]');
  const saved = JSON.parse(await page.$eval('[aria-label="Saved step config"]', (el) => el.textContent));
  expect(saved.model === "gpt-4o-mini" && saved.fallback_models.join() === "llama3.1,claude-haiku-4-5", "saved step");
  step("saved a step that validates");
  await page.click("xpath/.//button[normalize-space()='Try it on the simulator']");
  await page.waitForSelector('section[aria-label="Try-it run"]');
  await waitText("gpt-4o-mini answered");
  step("tried the step on the simulator: gpt-4o-mini answered");
  await accessible("step-builder");
  await shot("step-builder");

  // -- Usage ---------------------------------------------------------------------------
  await go("#/usage");
  await page.waitForSelector('table caption ::-p-text(Cost per day by model)');
  await page.waitForSelector("[role=meter]");
  await page.waitForSelector(".recharts-bar-rectangle");
  await accessible("usage");
  await shot("usage");
  step("usage dashboard drawn from the ledger");

  // -- Executions: the demo's timeline --------------------------------------------------
  await go(`#/executions/${encodeURIComponent(executionId)}`);
  await page.waitForSelector('ol[aria-label="Attempts"]');
  const timeline = await text();
  expect(timeline.includes("fell back to"), "the timeline says where it fell back");
  await accessible("executions");
  await shot("executions");
  step(`opened the demo's execution timeline (${executionId})`);

  // -- Configuration --------------------------------------------------------------------
  await go("#/config");
  await page.waitForSelector('section[aria-label="Policy in force"] table');
  await page.type('xpath/.//label[contains(., "Add a model")]//input', "gpt-4o");
  await page.click("xpath/.//button[normalize-space()='Add']");
  const editor = await page.waitForSelector("#override-gpt-4o");
  const replace = async (value) => {
    await editor.click();
    await page.keyboard.down("Control");
    await page.keyboard.press("KeyA");
    await page.keyboard.up("Control");
    await page.keyboard.press("Backspace");
    await editor.type(value);
  };
  await replace('{"quality": 42}');
  await page.click("xpath/.//button[normalize-space()='Save configurations']");
  await page.waitForSelector("#override-gpt-4o-errors li");
  const refusal = await page.$eval("#override-gpt-4o-errors", (el) => el.textContent);
  expect(refusal.includes("quality"), `the refusal is shown under gpt-4o: ${refusal}`);
  await accessible("configuration");
  await shot("configuration");
  step(`an invalid override is refused at its model: ${refusal}`);
  await replace('{"quality": 7}');
  await page.click("xpath/.//button[normalize-space()='Save configurations']");
  await waitText("Saved; live for running executors.");
  step("a valid override is saved");

  expect(errors.length === 0, `page errors: ${errors.join("; ")}`);
} finally {
  writeFileSync(join(artifacts, "report.json"), JSON.stringify(report, null, 2));
  await browser.close();
}
