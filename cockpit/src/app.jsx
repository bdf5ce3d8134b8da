/* The page: the list of containers (#/) and one container's page (#/NAME), as cockpit-podman lays them out. */
/* global cockpit */
import { createContext, useContext, useEffect, useState } from "react";
import {
    Alert, AlertActionCloseButton, AlertGroup, Breadcrumb, BreadcrumbItem, Button, Card, CardBody, CardHeader,
    CardTitle, EmptyState, EmptyStateBody, Flex, FlexItem, Label, Page, PageSection, Spinner, Title, Table, Tbody, Td,
    Th, Thead, Tr,
} from "./pf.js";
import { Actions } from "./actions.jsx";
import { CreateDialog } from "./dialogs.jsx";
import { ContainerPage } from "./container.jsx";
import { Usage, formatBytes } from "./usage.js";

export const PageContext = createContext(null);
export const usePage = () => useContext(PageContext);

/** Re-renders on every change the daemon reports. */
function useDaemon(daemon) {
    const [, setTick] = useState(0);
    useEffect(() => {
        const changed = () => setTick(tick => tick + 1);
        daemon.addEventListener("changed", changed);
        return () => daemon.removeEventListener("changed", changed);
    }, [daemon]);
}

function useLocation() {
    const [path, setPath] = useState(cockpit.location.path);
    useEffect(() => {
        const changed = () => setPath(cockpit.location.path);
        cockpit.addEventListener("locationchanged", changed);
        return () => cockpit.removeEventListener("locationchanged", changed);
    }, []);
    return path;
}

export function App({ daemon }) {
    useDaemon(daemon);
    const path = useLocation();
    const [usage] = useState(() => new Usage(daemon));
    const [alerts, setAlerts] = useState([]);
    const notify = alert => setAlerts(list => [...list, { key: Date.now() + Math.random(), ...alert }]);
    const dismiss = key => setAlerts(list => list.filter(a => a.key !== key));

    const name = path[0];
    const proxy = name && daemon.containers.get(name);
    let content;
    if (daemon.problem) {
        content = (
            <EmptyState titleText="Cannot reach containerctld" headingLevel="h2" status="danger">
                <EmptyStateBody>{daemon.problem}</EmptyStateBody>
            </EmptyState>
        );
    } else if (name) {
        content = proxy
            ? <ContainerPage proxy={proxy} />
            : <EmptyState titleText={`No container ${name}`} headingLevel="h2"><EmptyStateBody><Button variant="link" onClick={() => cockpit.location.go("/")}>Back to the containers</Button></EmptyStateBody></EmptyState>;
    } else {
        content = <ContainerList />;
    }

    return (
        <PageContext.Provider value={{ daemon, usage, notify }}>
            <Page>
                {daemon.canChange === false &&
                    <PageSection className="ctd-notice">
                        <Alert variant="info" isInline isPlain title={daemon.whyNot} id="read-only" />
                    </PageSection>}
                {content}
            </Page>
            <AlertGroup isToast isLiveRegion>
                {alerts.map(alert => (
                    <Alert key={alert.key} variant={alert.variant ?? "danger"} title={alert.title} timeout={alert.variant === "success" ? 8000 : 0}
                        actionClose={<AlertActionCloseButton onClose={() => dismiss(alert.key)} />}>
                        {alert.body}
                    </Alert>
                ))}
            </AlertGroup>
        </PageContext.Provider>
    );
}

const STATE_COLORS = { running: "green", starting: "blue", stopping: "blue", failed: "red" };

export function StateLabel({ state }) {
    return <Label color={STATE_COLORS[state] ?? "grey"} className="ctd-state">{state ?? "…"}</Label>;
}

function ContainerList() {
    const { daemon, usage } = usePage();
    const [creating, setCreating] = useState(false);
    const containers = [...daemon.containers.entries()].sort(([a], [b]) => a.localeCompare(b));

    return (
        <PageSection>
            <Card id="containers">
                <CardHeader actions={{
                    actions: <Button variant="secondary" id="create" isDisabled={!daemon.canChange} onClick={() => setCreating(true)}>Create container</Button>,
                }}>
                    <CardTitle><Title headingLevel="h2">Containers</Title></CardTitle>
                </CardHeader>
                <CardBody>
                    {containers.length === 0
                        ? <EmptyState titleText="No containers" headingLevel="h3">
                            <EmptyStateBody>Create one from a Nix store path or a Nix file, or with <code>containerctl create</code>.</EmptyStateBody>
                        </EmptyState>
                        : <Table aria-label="Containers" variant="compact">
                            <Thead>
                                <Tr>
                                    <Th>Name</Th>
                                    <Th>State</Th>
                                    <Th>UIDs</Th>
                                    <Th>Generation</Th>
                                    <Th>Addresses</Th>
                                    {daemon.hasUsage && <Th>CPU</Th>}
                                    {daemon.hasUsage && <Th>Memory</Th>}
                                    <Th screenReaderText="Actions" />
                                </Tr>
                            </Thead>
                            <Tbody>
                                {containers.map(([name, proxy]) => {
                                    const latest = usage.latest(name);
                                    return (
                                        <Tr key={name} data-container={name}>
                                            <Td dataLabel="Name">
                                                <Button variant="link" isInline onClick={() => cockpit.location.go([name])}>{name}</Button>
                                            </Td>
                                            <Td dataLabel="State"><StateLabel state={proxy.State} /></Td>
                                            <Td dataLabel="UIDs" className="ctd-mono">{uidRange(proxy)}</Td>
                                            <Td dataLabel="Generation">{proxy.Generation ?? ""}</Td>
                                            <Td dataLabel="Addresses">{(proxy.Addresses ?? []).join(", ")}</Td>
                                            {daemon.hasUsage && <Td dataLabel="CPU">{latest?.cpu === undefined ? "" : `${latest.cpu.toFixed(1)} %`}</Td>}
                                            {daemon.hasUsage && <Td dataLabel="Memory">{latest?.memory === undefined ? "" : formatBytes(latest.memory)}</Td>}
                                            <Td isActionCell><Actions proxy={proxy} /></Td>
                                        </Tr>
                                    );
                                })}
                            </Tbody>
                        </Table>}
                </CardBody>
            </Card>
            {creating && <CreateDialog onClose={() => setCreating(false)} />}
        </PageSection>
    );
}

export function uidRange(proxy) {
    if (proxy.UidBase === undefined) return "";
    return `${proxy.UidBase}–${proxy.UidBase + proxy.UidSize - 1}`;
}

export function Back({ name }) {
    return (
        <Breadcrumb>
            <BreadcrumbItem to="#/" onClick={event => { event.preventDefault(); cockpit.location.go("/") }}>Containers</BreadcrumbItem>
            <BreadcrumbItem isActive>{name}</BreadcrumbItem>
        </Breadcrumb>
    );
}

export function Busy({ text }) {
    return <Flex spaceItems={{ default: "spaceItemsSm" }}><FlexItem><Spinner size="md" /></FlexItem><FlexItem>{text}</FlexItem></Flex>;
}
