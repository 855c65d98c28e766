// The getting-started card on Home: what to do first, with a call to click.
import { h } from "../shell";

/** The first call offered: it reads CH1, which the bench wires to SI1 (a sine). */
export const FIRST_CALL = "get_voltage('CH1')";

/** The card; `tryCall` puts a call in the function box and runs it. */
export function gettingStarted(tryCall: (call: string) => void): HTMLElement {
  const first = h("button", { type: "button", class: "call", "data-testid": "first-call" }, h("code", {}, FIRST_CALL));
  first.title = "Put it in the function box and run it";
  first.addEventListener("click", () => tryCall(FIRST_CALL));
  return h("section", { class: "card start", "aria-labelledby": "start-title" },
    h("h2", { id: "start-title" }, "Getting started"),
    h("ol", {},
      h("li", {}, "Read a voltage from the instrument: click ", first, " — it runs in the function box."),
      h("li", {}, "See everything the instrument can do in the ",
        h("a", { href: "#/functions" }, "function reference"), ", with each function's parameters and units."),
      h("li", {}, "Open an example below, or write your own ",
        h("a", { href: "#/notebook/new" }, "script"), " with buttons and plots."),
      h("li", {}, "Watch live signals on the ", h("a", { href: "#/scope" }, "oscilloscope"), "."),
    ),
  );
}
