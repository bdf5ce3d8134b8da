/* A container's buttons: Start or Stop, and a menu with Restart, Force stop and Destroy. Each starts a
 * job; a job that fails, or a call the daemon refuses, shows a toast with the daemon's message and error name. */
/* global cockpit */
import { useState } from "react";
import {
    Button, Dropdown, DropdownItem, DropdownList, Flex, MenuToggle, EllipsisVIcon,
} from "./pf.js";
import { usePage } from "./app.jsx";
import { DestroyDialog } from "./dialogs.jsx";

const VERBS = { StartContainer: "Start", StopContainer: "Stop", RestartContainer: "Restart", DestroyContainer: "Destroy" };

/** Runs a job; on failure tells the person what the daemon said. Resolves with the ended job, or null. */
export async function runJob({ daemon, notify }, method, name, ...args) {
    const verb = VERBS[method] ?? method;
    try {
        const job = await daemon.finished(await daemon.start(method, name, ...args));
        if (job.result !== "done") notify({ title: `${verb} ${name}: ${job.result}`, body: <ErrorText {...job} /> });
        return job;
    } catch (error) {
        notify({ title: `${verb} ${name}: refused`, body: <ErrorText message={error.message} error={error.name} /> });
        return null;
    }
}

/** A failure as the daemon words it, with its D-Bus error name when it gives one. */
export function ErrorText({ message, error }) {
    return (
        <>
            <div className="ctd-error-message">{message || "The daemon gave no message."}</div>
            {error && <div className="ctd-mono ctd-error-name">{error}</div>}
        </>
    );
}

export function Actions({ proxy, onDestroyed }) {
    const page = usePage();
    const [open, setOpen] = useState(false);
    const [destroying, setDestroying] = useState(false);
    const name = proxy.Name;
    const state = proxy.State;
    const disabled = !page.daemon.canChange;
    const run = (method, ...args) => runJob(page, method, name, ...args);

    const main = state === "running"
        ? <Button variant="secondary" className="ctd-stop" isDisabled={disabled} onClick={() => run("StopContainer", false)}>Stop</Button>
        : <Button variant="secondary" className="ctd-start" isDisabled={disabled || state !== "stopped" && state !== "failed"}
            onClick={() => run("StartContainer")}>Start</Button>;

    return (
        <Flex flexWrap={{ default: "nowrap" }} spaceItems={{ default: "spaceItemsSm" }} justifyContent={{ default: "justifyContentFlexEnd" }}>
            {main}
            <Dropdown isOpen={open} onOpenChange={setOpen} popperProps={{ position: "right" }}
                toggle={ref => (
                    <MenuToggle ref={ref} variant="plain" aria-label={`More actions for ${name}`} className="ctd-more"
                        isDisabled={disabled} onClick={() => setOpen(!open)} icon={<EllipsisVIcon />} />
                )}>
                <DropdownList onClick={() => setOpen(false)}>
                    <DropdownItem onClick={() => run("RestartContainer")} isDisabled={state !== "running"}>Restart</DropdownItem>
                    <DropdownItem onClick={() => run("StopContainer", true)} isDisabled={state !== "running"}>Force stop</DropdownItem>
                    <DropdownItem onClick={() => setDestroying(true)} isDanger>Destroy…</DropdownItem>
                </DropdownList>
            </Dropdown>
            {destroying &&
                <DestroyDialog name={name} onClose={() => setDestroying(false)}
                    onConfirm={async () => {
                        setDestroying(false);
                        const job = await run("DestroyContainer");
                        if (job?.result === "done") onDestroyed?.();
                    }} />}
        </Flex>
    );
}

export const goHome = () => cockpit.location.go("/");
