/* global cockpit */
import "@patternfly/react-core/dist/styles/base.css";
import "./app.css";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";
import { Daemon } from "./daemon.js";

// Dark mode follows Cockpit's own setting (its shell writes "shell:style": auto, light or dark).
function applyStyle(style = localStorage.getItem("shell:style") || "auto") {
    const dark = style === "dark" || (style === "auto" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("pf-v6-theme-dark", dark);
}
window.addEventListener("storage", event => event.key === "shell:style" && applyStyle());
window.addEventListener("cockpit-style", event => applyStyle(event.detail?.style));
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyStyle());
applyStyle();

// A channel opened with superuser "try" keeps the bridge it began with: cockpit.permission reloads
// the page when administrative access is turned on or off, so the page asks the daemon again.
cockpit.permission({ admin: true });

createRoot(document.getElementById("app")).render(<App daemon={new Daemon()} />);
