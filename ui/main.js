// Loads the wasm UI. A separate file (not an inline script) so the CSP needs no 'unsafe-inline'.
import init from "./bridle_ui.js";
init();
