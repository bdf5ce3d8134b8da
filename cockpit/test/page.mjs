// Drives the page in a real Cockpit with headless Chromium (Debian's), one scenario a run:
//   node test/page.mjs SCENARIO
// tests/ContainerD.IntegrationTests/CockpitTests.cs starts the daemon, its containers and cockpit-ws
// and runs each scenario with:
//   COCKPIT_URL  http://127.0.0.1:PORT of a cockpit-ws --local-session
//   BUS          the daemon's bus, to check what the page did with busctl, as another client would
//   ARTIFACTS    where screenshots go
//   SYSTEM_PATH  a built system in the store (create); FAILING_NIX a Nix file whose build fails
//   CLI          containerctl, to change containers behind the page's back
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { COCKPIT_URL, BUS, ARTIFACTS = ".", SYSTEM_PATH, FAILING_NIX, CLI } = process.env;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** The daemon's answer, not the page's: a container property read with busctl. */
/** Whether the daemon's container objects offer GetUsage (the page shows figures exactly then). */
function daemonHasUsage() {
    return execFileSync("busctl", [`--address=${BUS}`, "introspect", "io.containerctl.ContainerD1",
        "/io/containerctl/ContainerD1/container/web", "io.containerctl.ContainerD1.Container"], { encoding: "utf8" }).includes(".GetUsage");
}

function daemonSays(name, property) {
    const out = execFileSync("busctl", [`--address=${BUS}`, "get-property", "io.containerctl.ContainerD1",
        `/io/containerctl/ContainerD1/container/${name}`, "io.containerctl.ContainerD1.Container", property],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out.trim().replace(/^\S+ /, "")); // 's "running"' → "running"
}

/** containerctl on the daemon's bus, as an admin at a shell would change things while the page is open. */
const cli = (...args) => execFileSync(CLI, ["--bus", BUS, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** A screenshot for the test's artifacts, with PatternFly's transitions finished (a button just enabled fades in). */
const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, animations: "disabled" });
const row = (frame, name) => frame.locator(`tr[data-container="${name}"]`);
const state = (frame, name, text) => row(frame, name).locator(".ctd-state").filter({ hasText: new RegExp(`^${text}$`) });

const scenarios = {
    /** The daemon's containers with their states, in light, dark and narrow; CPU and memory figures exactly with GetUsage. */
    async list(open) {
        const { page, frame } = await open("/containerctl");
        await state(frame, "web", "running").waitFor();
        await state(frame, "db", "stopped").waitFor();
        assert.equal(await row(frame, "db").locator("td").nth(2).innerText(), daemonSays("db", "UidBase") + "–" + (daemonSays("db", "UidBase") + 65535));
        // CPU and memory columns exactly when the daemon's containers have GetUsage (a later daemon).
        const hasUsage = daemonHasUsage();
        assert.equal(await frame.locator("th", { hasText: "CPU" }).count(), hasUsage ? 1 : 0, `GetUsage offered: ${hasUsage}`);
        assert.equal(await frame.locator("th", { hasText: "Memory" }).count(), hasUsage ? 1 : 0);
        if (hasUsage) {
            // The running one's cells fill in from its samples (CPU after the second); the stopped one's stay empty.
            await row(frame, "web").locator('td[data-label="CPU"]').filter({ hasText: /^\d+\.\d %$/ }).waitFor();
            await row(frame, "web").locator('td[data-label="Memory"]').filter({ hasText: /^\d+(\.\d)? (B|KiB|MiB|GiB)$/ }).waitFor();
            assert.equal(await row(frame, "db").locator('td[data-label="Memory"]').innerText(), "");
        }
        await row(frame, "db").locator(".ctd-start:enabled").waitFor();
        await shot(page, "list");

        const dark = await open("/containerctl", { colorScheme: "dark" });
        await state(dark.frame, "web", "running").waitFor();
        assert.ok(await dark.frame.locator("html.pf-v6-theme-dark").count(), "dark mode follows the browser's preference");
        await row(dark.frame, "db").locator(".ctd-start:enabled").waitFor();
        await shot(dark.page, "list-dark");

        const narrow = await open("/containerctl", { viewport: { width: 420, height: 900 } });
        await row(narrow.frame, "db").locator(".ctd-start:enabled").waitFor();
        assert.ok(await row(narrow.frame, "db").locator(".ctd-start").isVisible(), "Start is reachable at 420 px");
        await shot(narrow.page, "list-narrow");
    },

    /** Start a stopped container, see it run (and the daemon agree), then stop it. */
    async startStop(open) {
        const { frame } = await open("/containerctl");
        await state(frame, "idle", "stopped").waitFor();
        await row(frame, "idle").locator(".ctd-start").click();
        await state(frame, "idle", "running").waitFor();
        assert.equal(daemonSays("idle", "State"), "running");
        assert.ok(daemonSays("idle", "LeaderPid") > 0);
        await row(frame, "idle").locator(".ctd-stop").click();
        await state(frame, "idle", "stopped").waitFor();
        assert.equal(daemonSays("idle", "State"), "stopped");
    },

    /** Create from a store path: the job's log streams in the dialog until it is done; the new one starts. */
    async create(open) {
        const { page, frame } = await open("/containerctl");
        await frame.locator("#create").click();
        await frame.locator("#create-name").fill("fresh");
        await frame.locator("#create-path").fill(SYSTEM_PATH);
        await frame.locator("#create-submit").click();
        await frame.locator("#job-log", { hasText: `using the prebuilt system ${SYSTEM_PATH}` }).waitFor();
        await frame.locator("#job-result", { hasText: "Done" }).waitFor();
        await frame.locator("#job-log", { hasText: "created container fresh" }).waitFor();
        await shot(page, "create-job");
        await frame.locator("#job-close").click();
        await state(frame, "fresh", "running").waitFor();
        assert.equal(daemonSays("fresh", "SystemPath"), SYSTEM_PATH);
    },

    /** A build that fails: its log, the daemon's message and its error name. */
    async failedJob(open) {
        const { page, frame } = await open("/containerctl");
        await frame.locator("#create").click();
        await frame.locator("#create-name").fill("broken");
        await frame.locator("#create-kind-nix").check();
        await frame.locator("#create-file").fill(FAILING_NIX);
        await frame.locator("#create-submit").click();
        await frame.locator("#job-log", { hasText: "this build fails on purpose" }).waitFor();
        const result = frame.locator("#job-result");
        await result.filter({ hasText: "create broken: failed" }).waitFor();
        const message = await result.locator(".ctd-error-message").innerText();
        assert.match(message, /nix-build|build/i, "the daemon's message for the failed build");
        // The error's name, as JobRemoved carries it.
        assert.equal(await result.locator(".ctd-error-name").innerText(), "io.containerctl.ContainerD1.Error.BuildFailed");
        await shot(page, "failed-job");
        await frame.locator("#job-close").click();
        assert.equal(await row(frame, "broken").count(), 0);
    },

    /** A container's page: details, generations and the console log, which follows what the guest prints. */
    async containerPage(open) {
        const { page, frame } = await open("/containerctl#/web", { viewport: { width: 1280, height: 1500 } });
        await frame.locator("#container-name", { hasText: "web" }).waitFor();
        await frame.locator("#console-log", { hasText: "init: system web variant 1 up as uid 0" }).waitFor();
        await frame.locator("#details", { hasText: daemonSays("web", "SystemPath") }).waitFor();
        await frame.locator("#generations tr[data-generation='1']", { hasText: "current" }).waitFor();
        await frame.locator("#definition", { hasText: "busybox-system-web-1" }).waitFor();
        await frame.locator("#container-actions .ctd-stop:enabled").waitFor();
        // Usage, from GetUsage when the daemon has it: CPU needs two samples (2 s apart), memory one.
        if (daemonHasUsage()) {
            await frame.locator("#usage", { hasText: /CPU \d+\.\d %/ }).waitFor({ timeout: 15000 });
            await frame.locator("#usage", { hasText: /Memory \d+(\.\d)? [KMG]?i?B/ }).waitFor();
        }
        await shot(page, "container");
        // A line the guest writes to its console now shows up without a reload.
        execFileSync("busctl", [`--address=${BUS}`, "call", "io.containerctl.ContainerD1", "/io/containerctl/ContainerD1/container/web",
            "io.containerctl.ContainerD1.Container", "RunCommand", "--", "asa{ss}", "3", "sh", "-c", "echo hello from the console >/dev/console", "0"]);
        await frame.locator("#console-log", { hasText: "hello from the console" }).waitFor();
    },

    /** Roll a container back to its first generation from its page. */
    async rollback(open) {
        const { frame } = await open("/containerctl#/db");
        const first = frame.locator("#generations tr[data-generation='1']");
        await frame.locator("#generations tr[data-generation='2']", { hasText: "current" }).waitFor();
        await first.getByRole("button", { name: "Roll back" }).click();
        await frame.locator("#job-dialog", { hasText: "Rolling db back to generation 1" }).waitFor();
        await frame.locator("#job-result", { hasText: "Done" }).waitFor();
        await frame.locator("#job-close").click();
        await first.filter({ hasText: "current" }).waitFor();
        assert.equal(daemonSays("db", "Generation"), 1);
    },

    /** Destroy asks first, naming the container; then it is gone from the page and the daemon. */
    async destroy(open) {
        const { frame } = await open("/containerctl");
        await row(frame, "doomed").locator(".ctd-more").click();
        await frame.getByRole("menuitem", { name: "Destroy…" }).click();
        await frame.locator("#destroy-dialog", { hasText: "Destroy doomed?" }).waitFor();
        await frame.locator("#destroy-confirm", { hasText: "Destroy doomed" }).click();
        await row(frame, "doomed").waitFor({ state: "detached" });
        assert.throws(() => daemonSays("doomed", "State"));
    },

    /** A container destroyed and made again under its name while the page is open: the page shows the
     * new one's facts (uid range, creation time), not what it had read of the old one. */
    async recreated(open) {
        const { frame } = await open("/containerctl");
        const range = () => `${daemonSays("reborn", "UidBase")}–${daemonSays("reborn", "UidBase") + daemonSays("reborn", "UidSize") - 1}`;
        const uids = () => row(frame, "reborn").locator('td[data-label="UIDs"]');
        await uids().filter({ hasText: range() }).waitFor();
        cli("destroy", "reborn", "--yes");
        await row(frame, "reborn").waitFor({ state: "detached" });
        // Made again with twice the ids: whatever range it gets, it is not the old one.
        const dir = mkdtempSync(join(tmpdir(), "ctd-page-"));
        try {
            writeFileSync(join(dir, "reborn.yaml"), `name: reborn\nsystem: { path: ${SYSTEM_PATH} }\nidmap: { size: 131072 }\n`);
            cli("create", "reborn", "-f", join(dir, "reborn.yaml"));
        } finally {
            rmSync(dir, { recursive: true });
        }
        await uids().filter({ hasText: range() }).waitFor({ timeout: 15000 });
    },

    /** A session that is neither root nor in group containerctl: read only, and told why. */
    async readOnly(open) {
        const { page, frame } = await open("/containerctl");
        await state(frame, "web", "running").waitFor();
        await frame.locator("#read-only", { hasText: "only root and members of group containerctl may change containers" }).waitFor();
        assert.ok(await frame.locator("#create").isDisabled());
        assert.ok(await row(frame, "db").locator(".ctd-start").isDisabled());
        assert.ok(await row(frame, "web").locator(".ctd-stop").isDisabled());
        assert.ok(await row(frame, "web").locator(".ctd-more").isDisabled());
        await shot(page, "read-only");
        await frame.locator("tr[data-container='db'] button", { hasText: "db" }).click();
        await frame.locator("#container-name", { hasText: "db" }).waitFor();
        assert.equal(await frame.getByRole("button", { name: "Roll back" }).first().isDisabled(), true);
        // The console log is root's file: without administrative access the page says so.
        const web = await open("/containerctl#/web");
        await web.frame.locator("#console", { hasText: "readable with administrative access only" }).waitFor();
    },
};

const name = process.argv[2];
assert.ok(scenarios[name], `no scenario '${name}': one of ${Object.keys(scenarios).join(", ")}`);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const errors = [];
const pages = [];
try {
    await scenarios[name](async (path, options = {}) => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ...options });
        pages.push(page);
        page.setDefaultTimeout(Number(process.env.TIMEOUT_MS ?? 60_000));
        page.on("pageerror", error => errors.push(error.message));
        await page.goto(COCKPIT_URL + path);
        // Cockpit's shell around the page, and the page in its frame.
        const frame = page.frameLocator("iframe[name$='/containerctl']");
        await frame.locator("#app").waitFor();
        return { page, frame };
    });
    assert.deepEqual(errors, [], "the page threw");
    console.log(`${name}: ok`);
} catch (error) {
    // What the page showed when it failed, for the test's artifacts.
    for (const [i, page] of pages.entries()) await page.screenshot({ path: `${ARTIFACTS}/${name}-failed-${i}.png` }).catch(() => {});
    throw error;
} finally {
    await browser.close();
}
