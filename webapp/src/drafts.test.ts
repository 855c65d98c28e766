// Drafts: per account and per script, never shown to another account, dropped on sign-out.
import { Drafts, draftKey } from "./drafts";

describe("drafts", () => {
  beforeEach(() => sessionStorage.clear());

  it("are kept per account and per script", () => {
    const d = new Drafts(sessionStorage);
    d.set(1, "new", { title: "A new", code: "print('a')" });
    d.set(1, 7, { title: "A 7", code: "x = 7" });
    d.set(2, "new", { title: "B new", code: "print('b')" });
    expect(d.get(1, "new")?.code).toBe("print('a')");
    expect(d.get(2, "new")?.code).toBe("print('b')");
    expect(d.get(1, 7)?.title).toBe("A 7");
    expect(d.get(2, 7)).toBeNull(); // another account's script 7 draft is not B's
    expect(d.get(1, 8)).toBeNull(); // nor another script's
    expect(d.scripts(1).sort()).toEqual([7, "new"]);
  });

  it("keepOnly drops every other account's drafts; clearAll drops all", () => {
    const d = new Drafts(sessionStorage);
    d.set(1, "new", { title: "", code: "a" });
    d.set(2, 3, { title: "", code: "b" });
    sessionStorage.setItem("unrelated", "stays");
    d.keepOnly(2);
    expect(d.get(1, "new")).toBeNull();
    expect(d.get(2, 3)?.code).toBe("b");
    d.clearAll();
    expect(d.scripts(2)).toEqual([]);
    expect(sessionStorage.getItem("unrelated")).toBe("stays");
  });

  it("drops a damaged entry", () => {
    sessionStorage.setItem(draftKey(1, 4), "{not json");
    const d = new Drafts(sessionStorage);
    expect(d.get(1, 4)).toBeNull();
    expect(sessionStorage.getItem(draftKey(1, 4))).toBeNull();
  });
});

describe("any", () => {
  it("says whether a draft is kept", () => {
    sessionStorage.clear();
    const d = new Drafts(sessionStorage);
    expect(d.any()).toBe(false);
    d.set(5, 2, { title: "t", code: "c" });
    expect(d.any()).toBe(true);
  });
});
