/* containerctld as the page sees it, over Cockpit's D-Bus channel: the containers (live proxies,
 * updated by PropertiesChanged), the jobs and their logs (JobNew, JobLog, JobRemoved), whether
 * this session may change anything, and whether the daemon offers usage figures.
 * No polling: the list changes with ContainerNew and ContainerRemoved. */
/* global cockpit */

export const SERVICE = "io.containerctl.ContainerD1";
const ROOT = "/io/containerctl/ContainerD1";
const MANAGER = `${SERVICE}.Manager`;
const CONTAINER = `${SERVICE}.Container`;
const KEPT_JOBS = 50;
const KEPT_LINES = 5000;

export class Daemon extends EventTarget {
    /** name → a cockpit D-Bus proxy of the container: proxy.State, proxy.Generation, … */
    containers = new Map();
    /** name → the bridge's watch of the container's object, which fills and updates its proxy. */
    watches = new Map();
    /** id → { id, container, operation, lines, result, message, error } */
    jobs = new Map();
    /** null until known; then whether this session may change containers, and why not. */
    canChange = null;
    whyNot = "";
    /** The daemon has Container.GetUsage() (a later version): the page shows CPU and memory. */
    hasUsage = false;
    /** Why the daemon cannot be reached, or null. */
    problem = null;

    constructor() {
        super();
        // superuser "try": with Cockpit's administrative access on, calls go as root.
        this.client = cockpit.dbus(SERVICE, { bus: "system", superuser: "try" });
        this.client.addEventListener("close", (_event, options) => this.fail(cockpit.message(options)));
        this.client.addEventListener("owner", (_event, owner) => {
            if (owner === null) this.fail("containerctld is not running (nothing owns io.containerctl.ContainerD1 on the system bus)");
            else if (this.problem) this.load();
        });
        this.client.addEventListener("meta", (_event, meta) => {
            if (meta[CONTAINER]?.methods?.GetUsage && !this.hasUsage) {
                this.hasUsage = true;
                this.changed();
            }
        });
        const on = (member, handler) =>
            this.client.subscribe({ path: ROOT, interface: MANAGER, member }, (_path, _iface, _member, args) => handler(...args));
        on("ContainerNew", (name, path) => this.add(name, path));
        on("ContainerRemoved", name => this.remove(name));
        on("JobNew", (id, _path, container, operation) => this.job(id, container, operation));
        on("JobLog", (id, line) => this.log(id, line));
        // The daemon's error name is the 7th argument since the bus rework; older daemons send 6.
        on("JobRemoved", (id, _path, container, operation, result, message, error = "") =>
            this.ended(id, container, operation, result, message, error));
        this.load();
    }

    async load() {
        try {
            const [containers] = await this.call("ListContainers");
            this.problem = null;
            for (const [name, , , , , , path] of containers) this.add(name, path);
            const [jobs] = await this.call("ListJobs");
            for (const [id, container, operation] of jobs) this.job(id, container, operation);
        } catch (error) {
            this.fail(error.message);
        }
        await this.probeAccess();
        this.changed();
    }

    /** Calls a Manager method: resolves with the reply's arguments, rejects with { name, message }. */
    call(method, ...args) {
        return this.client.call(ROOT, MANAGER, method, args);
    }

    /** Starts a job; resolves with its id (its log may have begun already: see job()). */
    async start(method, ...args) {
        const [path] = await this.call(method, ...args);
        const id = Number(path.split("/").pop());
        return this.job(id, args[0], "").id; // its operation ("create", "start"…) comes with JobNew or JobRemoved
    }

    /** Whether changes are allowed is the daemon's call (root, its admin group, the bus policy):
     * ask it with a change that cannot do anything — there is no job 0. */
    async probeAccess() {
        try {
            await this.call("CancelJob", 0);
            this.canChange = true;
        } catch (error) {
            const denied = /AccessDenied$/.test(error.name ?? "");
            this.canChange = !denied;
            const group = /group '([^']+)'/.exec(error.message ?? "")?.[1] ?? "containerctl";
            this.whyNot = denied
                ? `You can look but not change: only root and members of group ${group} may change containers. ` +
                  "Turn on administrative access to make changes."
                : "";
        }
    }

    add(name, path) {
        if (this.containers.has(name)) return;
        // The proxy's data is the bridge's cache of the path, which outlives the object: a container
        // made again under a destroyed one's name would show the old one's const properties (its
        // uid range) for good. So the page watches the path itself and ends the watch at
        // ContainerRemoved, which drops that cache; a new container's watch reads it all afresh.
        const watch = this.client.watch({ path, interface: CONTAINER });
        const proxy = this.client.proxy(CONTAINER, path, { watch: false });
        proxy.addEventListener("changed", () => this.changed());
        watch.then(() => this.changed(), () => {});
        this.watches.set(name, watch);
        this.containers.set(name, proxy);
        this.changed();
    }

    remove(name) {
        this.watches.get(name)?.remove();
        this.watches.delete(name);
        this.containers.delete(name);
        this.changed();
    }

    job(id, container, operation) {
        let job = this.jobs.get(id);
        if (!job) {
            job = { id, container, operation, lines: [], result: null, message: "", error: "" };
            this.jobs.set(id, job);
            for (const old of this.jobs.keys()) if (this.jobs.size > KEPT_JOBS) this.jobs.delete(old);
        }
        job.container ||= container;
        job.operation ||= operation;
        this.changed();
        return job;
    }

    log(id, line) {
        const job = this.job(id, "", "");
        job.lines.push(line);
        if (job.lines.length > KEPT_LINES) job.lines.splice(0, job.lines.length - KEPT_LINES);
    }

    ended(id, container, operation, result, message, error) {
        const job = this.job(id, container, operation);
        // The job's caller gets a copy with the message first, then everyone the broadcast without it.
        if (job.result && !message) return;
        Object.assign(job, { result, message, error });
        this.changed();
        this.dispatchEvent(new CustomEvent("jobended", { detail: job }));
    }

    /** Resolves with the job once it has ended. */
    finished(id) {
        return new Promise(resolve => {
            const check = () => {
                const job = this.jobs.get(id);
                if (job?.result) {
                    this.removeEventListener("jobended", check);
                    resolve(job);
                }
            };
            this.addEventListener("jobended", check);
            check();
        });
    }

    /** The container's generations: [{ number, createdAt (ms), storePath, current }]. */
    async generations(name) {
        const [rows] = await this.call("ListGenerations", name);
        return rows.map(([number, createdAt, storePath, current]) => ({ number, createdAt: createdAt / 1000, storePath, current }));
    }

    /** The daemon's figures for a running container: a{sv} as Container.GetUsage() returns it. */
    async usage(name) {
        const [figures] = await this.client.call(this.containers.get(name).path, CONTAINER, "GetUsage", []);
        return Object.fromEntries(Object.entries(figures).map(([key, variant]) => [key, variant.v]));
    }

    fail(problem) {
        this.problem = problem || "containerctld cannot be reached";
        this.changed();
    }

    changed() {
        this.dispatchEvent(new Event("changed"));
    }
}
