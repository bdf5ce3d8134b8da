/* One container's page: its details, usage, generations (with rollback), console log and definition. */
/* global cockpit */
import { useEffect, useState } from "react";
import {
    Button, Card, CardBody, CardHeader, CardTitle, CodeBlock, CodeBlockCode, DescriptionList,
    DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Flex, FlexItem, Gallery, Label, PageSection,
    Stack, Title, Table, Tbody, Td, Th, Thead, Tr,
} from "./pf.js";
import { Back, StateLabel, uidRange, usePage } from "./app.jsx";
import { Actions, goHome } from "./actions.jsx";
import { JobDialog } from "./dialogs.jsx";
import { Chart, formatBytes } from "./usage.js";

export function ContainerPage({ proxy }) {
    const { daemon } = usePage();
    const name = proxy.Name;
    return (
        <>
            <PageSection>
                <Stack hasGutter>
                    <Back name={name} />
                    <Flex alignItems={{ default: "alignItemsCenter" }} justifyContent={{ default: "justifyContentSpaceBetween" }}>
                        <Flex alignItems={{ default: "alignItemsCenter" }}>
                            <Title headingLevel="h1" id="container-name">{name}</Title>
                            <StateLabel state={proxy.State} />
                        </Flex>
                        <FlexItem id="container-actions"><Actions proxy={proxy} onDestroyed={goHome} /></FlexItem>
                    </Flex>
                </Stack>
            </PageSection>
            <PageSection>
                <Stack hasGutter>
                    <Gallery hasGutter minWidths={{ default: "100%", lg: "30rem" }}>
                        <Details proxy={proxy} />
                        {daemon.hasUsage && <UsageCard name={name} running={proxy.State === "running"} />}
                    </Gallery>
                    <Generations proxy={proxy} />
                    <ConsoleLog name={name} />
                    <Card id="definition">
                        <CardTitle>Definition</CardTitle>
                        <CardBody>
                            {proxy.Definition !== undefined
                                ? <CodeBlock><CodeBlockCode>{proxy.Definition}</CodeBlockCode></CodeBlock>
                                : "Only administrators can read the definition."}
                        </CardBody>
                    </Card>
                </Stack>
            </PageSection>
        </>
    );
}

function Details({ proxy }) {
    const rows = [
        ["Init PID", proxy.LeaderPid || "–"],
        ["UIDs", <span className="ctd-mono" key="uids">{uidRange(proxy)}</span>],
        ["Generation", proxy.Generation],
        ["System", <span className="ctd-mono" key="system">{proxy.SystemPath}</span>],
        ["Addresses", (proxy.Addresses ?? []).join(", ") || "–"],
        ["Autostart", proxy.Autostart ? "yes" : "no"],
        ["Declarative", proxy.Declarative ? "yes: a file in the daemon's definitions directory owns it" : "no"],
        ["Created", proxy.CreatedAt ? new Date(proxy.CreatedAt / 1000).toLocaleString() : ""],
        ["Last job", proxy.LastJob || "–"],
    ];
    return (
        <Card id="details">
            <CardTitle>Details</CardTitle>
            <CardBody>
                <DescriptionList isHorizontal isCompact>
                    {rows.map(([term, value]) => (
                        <DescriptionListGroup key={term}>
                            <DescriptionListTerm>{term}</DescriptionListTerm>
                            <DescriptionListDescription>{value}</DescriptionListDescription>
                        </DescriptionListGroup>
                    ))}
                </DescriptionList>
            </CardBody>
        </Card>
    );
}

function UsageCard({ name, running }) {
    const { usage } = usePage();
    const samples = usage.history.get(name) ?? [];
    const latest = samples.at(-1);
    return (
        <Card id="usage">
            <CardTitle>Usage</CardTitle>
            <CardBody>
                {!latest
                    ? (running ? "Measuring…" : "Shown while it runs.")
                    : <Stack hasGutter>
                        <div>CPU {latest.cpu === undefined ? "…" : `${latest.cpu.toFixed(1)} %`}</div>
                        <Chart values={samples.map(s => s.cpu)} max={100} label="CPU, last two minutes" />
                        <div>Memory {latest.memory === undefined ? "–" : formatBytes(latest.memory)}
                            {latest.memoryMax !== undefined && ` of ${formatBytes(latest.memoryMax)}`}</div>
                        <Chart values={samples.map(s => s.memory)} max={latest.memoryMax} label="Memory, last two minutes" />
                    </Stack>}
            </CardBody>
        </Card>
    );
}

function Generations({ proxy }) {
    const { daemon } = usePage();
    const [generations, setGenerations] = useState([]);
    const [rollback, setRollback] = useState(null); // { id, number }
    const name = proxy.Name;

    useEffect(() => {
        daemon.generations(name).then(setGenerations, () => setGenerations([]));
    }, [daemon, name, proxy.Generation, proxy.LastJob]);

    const rollBack = async number => {
        try {
            setRollback({ id: await daemon.start("RollbackContainer", name, number), number });
        } catch (error) {
            setRollback({ error, number });
        }
    };

    return (
        <Card id="generations">
            <CardTitle>Generations</CardTitle>
            <CardBody>
                <Table aria-label="Generations" variant="compact">
                    <Thead><Tr><Th modifier="nowrap">Generation</Th><Th>Built</Th><Th>Store path</Th><Th screenReaderText="Actions" /></Tr></Thead>
                    <Tbody>
                        {[...generations].reverse().map(g => (
                            <Tr key={g.number} data-generation={g.number}>
                                <Td dataLabel="Generation">{g.number} {g.current && <Label color="green" isCompact>current</Label>}</Td>
                                <Td dataLabel="Built">{new Date(g.createdAt).toLocaleString()}</Td>
                                <Td dataLabel="Store path" className="ctd-mono">{g.storePath}</Td>
                                <Td isActionCell>
                                    {!g.current &&
                                        <Button variant="secondary" size="sm" isDisabled={!daemon.canChange} onClick={() => rollBack(g.number)}>
                                            Roll back
                                        </Button>}
                                </Td>
                            </Tr>
                        ))}
                    </Tbody>
                </Table>
            </CardBody>
            {rollback?.id !== undefined &&
                <JobDialog id={rollback.id} title={`Rolling ${name} back to generation ${rollback.number}`} onClose={() => setRollback(null)} />}
        </Card>
    );
}

// Control characters of a terminal (colours, cursor moves) mean nothing here.
// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r|[\x00-\x08\x0b\x0c\x0e-\x1f]/g;
const SHOWN_LINES = 1000;

function ConsoleLog({ name }) {
    const [log, setLog] = useState({ text: "" });
    const lxcPath = cockpit.manifests.containerctl?.config?.lxcPath ?? "/var/lib/containerctld/lxc";

    useEffect(() => {
        // The log is root's (0600): with administrative access the bridge reads it as root.
        const file = cockpit.file(`${lxcPath}/${name}/console.log`, { superuser: "try", max_read_size: 4 * 1024 * 1024 });
        const watch = file.watch((content, _tag, error) => {
            if (error) setLog({ problem: error.problem === "access-denied" ? "The console log is readable with administrative access only." : error.message });
            else setLog({ text: (content ?? "").replace(TERMINAL_CODES, "").split("\n").slice(-SHOWN_LINES).join("\n") });
        });
        return () => { watch.remove(); file.close() };
    }, [lxcPath, name]);

    useEffect(() => {
        const pre = document.getElementById("console-log");
        if (pre) pre.scrollTop = pre.scrollHeight;
    }, [log.text]);

    return (
        <Card id="console">
            <CardHeader><CardTitle>Console log</CardTitle></CardHeader>
            <CardBody>
                {log.problem
                    ? log.problem
                    : <CodeBlock>
                        <CodeBlockCode id="console-log" className="ctd-log">{log.text || "(nothing yet: the log begins when the container starts)"}</CodeBlockCode>
                    </CodeBlock>}
            </CardBody>
        </Card>
    );
}
