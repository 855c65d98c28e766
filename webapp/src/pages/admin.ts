// Users and their lab roles (admins).
import { api } from "../api";
import type { User } from "../api";
import { h, page } from "../shell";

export async function admin(): Promise<void> {
  const users = (await api("/v1/admin/users?limit=100")).items as User[];
  const rows = users.map((u) => {
    const toggle = h("button", { type: "button", class: "link" }, u.role === "teacher" ? "remove teacher" : "make teacher");
    toggle.addEventListener("click", async () => {
      await api(`/v1/admin/users/${u.id}/role`, "PUT", { role: u.role === "teacher" ? "student" : "teacher" });
      void admin();
    });
    return h("tr", {}, h("td", {}, u.email), h("td", {}, u.role), h("td", {}, u.role === "admin" ? "" : toggle));
  });
  page(h("section", { class: "card" }, h("h2", {}, "Users"),
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Users table" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Email"), h("th", {}, "Role"), h("th", {}, ""))), h("tbody", {}, ...rows)))));
}

