/* Dialogs: create a container, watch a job's log until it ends, confirm a destroy. */
import { useEffect, useState } from "react";
import {
    Alert, Button, Checkbox, CodeBlock, CodeBlockCode, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter,
    ModalHeader, Radio, TextInput,
} from "./pf.js";
import { Busy, usePage } from "./app.jsx";
import { ErrorText, runJob } from "./actions.jsx";

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** A definition as the daemon reads it (JSON strings are YAML strings). */
export function definition({ name, kind, path, file, attr }) {
    const q = JSON.stringify;
    const system = kind === "path"
        ? `  path: ${q(path)}`
        : `  nix:\n    file: ${q(file)}${attr ? `\n    attr: ${q(attr)}` : ""}`;
    return `name: ${q(name)}\nsystem:\n${system}\n`;
}

export function CreateDialog({ onClose }) {
    const page = usePage();
    const [form, setForm] = useState({ name: "", kind: "path", path: "", file: "", attr: "", start: true });
    const [jobId, setJobId] = useState(null);
    const [refused, setRefused] = useState(null);
    const set = key => (_event, value) => setForm(f => ({ ...f, [key]: value }));
    const source = form.kind === "path" ? form.path : form.file;
    const valid = NAME.test(form.name) && source.startsWith("/");

    const create = async () => {
        setRefused(null);
        try {
            const id = await page.daemon.start("CreateContainer", form.name, definition(form));
            setJobId(id);
            const job = await page.daemon.finished(id);
            if (job.result === "done" && form.start) runJob(page, "StartContainer", form.name);
        } catch (error) {
            setRefused(error);
        }
    };

    if (jobId !== null) return <JobDialog id={jobId} title={`Creating ${form.name}`} onClose={onClose} />;
    return (
        <Modal isOpen onClose={onClose} variant="medium" id="create-dialog">
            <ModalHeader title="Create container" />
            <ModalBody>
                <Form isHorizontal onSubmit={event => { event.preventDefault(); valid && create() }}>
                    <FormGroup label="Name" fieldId="create-name" isRequired>
                        <TextInput id="create-name" value={form.name} onChange={set("name")} />
                        <FormHelperText><HelperText><HelperTextItem variant={form.name && !NAME.test(form.name) ? "error" : "default"}>
                            Lower-case letters, digits and “-”, starting with a letter; at most 31.
                        </HelperTextItem></HelperText></FormHelperText>
                    </FormGroup>
                    <FormGroup label="System" role="radiogroup" fieldId="create-kind" isInline>
                        <Radio id="create-kind-path" name="kind" label="Nix store path" isChecked={form.kind === "path"} onChange={() => set("kind")(null, "path")} />
                        <Radio id="create-kind-nix" name="kind" label="Nix file" isChecked={form.kind === "nix"} onChange={() => set("kind")(null, "nix")} />
                    </FormGroup>
                    {form.kind === "path"
                        ? <FormGroup label="Store path" fieldId="create-path" isRequired>
                            <TextInput id="create-path" value={form.path} onChange={set("path")} placeholder="/nix/store/…-nixos-system-web" />
                            <FormHelperText><HelperText><HelperTextItem>A built system with an <code>init</code> in it.</HelperTextItem></HelperText></FormHelperText>
                        </FormGroup>
                        : <>
                            <FormGroup label="Nix file" fieldId="create-file" isRequired>
                                <TextInput id="create-file" value={form.file} onChange={set("file")} placeholder="/etc/containerctld/web.nix" />
                            </FormGroup>
                            <FormGroup label="Attribute" fieldId="create-attr">
                                <TextInput id="create-attr" value={form.attr} onChange={set("attr")} placeholder="system (optional)" />
                            </FormGroup>
                        </>}
                    <FormGroup fieldId="create-start">
                        <Checkbox id="create-start" label="Start it once created" isChecked={form.start} onChange={set("start")} />
                    </FormGroup>
                </Form>
                {refused && <Alert variant="danger" isInline title="The daemon refused"><ErrorText message={refused.message} error={refused.name} /></Alert>}
            </ModalBody>
            <ModalFooter>
                <Button variant="primary" id="create-submit" isDisabled={!valid} onClick={create}>Create</Button>
                <Button variant="link" onClick={onClose}>Cancel</Button>
            </ModalFooter>
        </Modal>
    );
}

/** A job's log, live, until it ends; then its result, and if it failed the daemon's message and error name. */
export function JobDialog({ id, title, onClose }) {
    const { daemon } = usePage();
    const job = daemon.jobs.get(id);
    const lines = job?.lines ?? [];
    useEffect(() => {
        document.getElementById("job-log")?.lastElementChild?.scrollIntoView({ block: "end" });
    }, [lines.length]);

    return (
        <Modal isOpen onClose={onClose} variant="large" id="job-dialog">
            <ModalHeader title={title} description={`Job ${id}`} />
            <ModalBody>
                <CodeBlock>
                    <CodeBlockCode id="job-log" className="ctd-log">
                        {lines.length ? lines.map((line, i) => <div key={i}>{line}</div>) : <div>(no output yet)</div>}
                    </CodeBlockCode>
                </CodeBlock>
                {!job?.result && <Busy text="Running…" />}
                {job?.result === "done" && <Alert variant="success" isInline isPlain title="Done" id="job-result" />}
                {job?.result && job.result !== "done" &&
                    <Alert variant="danger" isInline title={`${job.operation} ${job.container}: ${job.result}`} id="job-result">
                        <ErrorText message={job.message} error={job.error} />
                    </Alert>}
            </ModalBody>
            <ModalFooter>
                <Button variant={job?.result ? "primary" : "secondary"} onClick={onClose} id="job-close">Close</Button>
            </ModalFooter>
        </Modal>
    );
}

export function DestroyDialog({ name, onClose, onConfirm }) {
    return (
        <Modal isOpen onClose={onClose} variant="small" id="destroy-dialog">
            <ModalHeader title={`Destroy ${name}?`} titleIconVariant="warning" />
            <ModalBody>
                This stops <strong>{name}</strong>, deletes its files, its profile and every generation, and frees its uid range.
                It cannot be undone.
            </ModalBody>
            <ModalFooter>
                <Button variant="danger" onClick={onConfirm} id="destroy-confirm">Destroy {name}</Button>
                <Button variant="link" onClick={onClose}>Cancel</Button>
            </ModalFooter>
        </Modal>
    );
}
