// Unsaved edits ("drafts"), kept per account and per script in the tab's sessionStorage
// (ADR 0014): the key names the account, so another account on the same browser never sees
// them; signing out drops them all; a tab closed with unsaved edits is warned first.

export interface Draft {
  title: string;
  code: string;
}

const PREFIX = "remotelab:draft:";

/** The key of a draft: the account's id and the script's id ("new" for an unsaved one). */
export function draftKey(userId: number, scriptId: number | "new"): string {
  return `${PREFIX}${userId}:${scriptId}`;
}

export class Drafts {
  constructor(private store: Storage = sessionStorage) {}

  get(userId: number, scriptId: number | "new"): Draft | null {
    const raw = this.store.getItem(draftKey(userId, scriptId));
    if (raw === null) return null;
    try {
      const draft = JSON.parse(raw) as Draft;
      if (typeof draft.code === "string" && typeof draft.title === "string") return draft;
    } catch {
      // fall through: a damaged entry is dropped
    }
    this.store.removeItem(draftKey(userId, scriptId));
    return null;
  }

  set(userId: number, scriptId: number | "new", draft: Draft): void {
    try {
      this.store.setItem(draftKey(userId, scriptId), JSON.stringify(draft));
    } catch {
      // Storage full or refused (private mode): the leave warning still protects the edits.
    }
  }

  clear(userId: number, scriptId: number | "new"): void {
    this.store.removeItem(draftKey(userId, scriptId));
  }

  /** The script ids with a draft of ``userId`` ("new" included). */
  scripts(userId: number): (number | "new")[] {
    const mine = `${PREFIX}${userId}:`;
    return this.keys()
      .filter((k) => k.startsWith(mine))
      .map((k) => k.slice(mine.length))
      .map((id) => (id === "new" ? "new" : Number(id)));
  }

  /** Whether any draft is kept (a closed tab would lose it). */
  any(): boolean {
    return this.keys().length > 0;
  }

  /** Drop every draft of every account (on sign-out). */
  clearAll(): void {
    for (const key of this.keys()) this.store.removeItem(key);
  }

  /** Drop the drafts of every other account (on sign-in): a session that expired without
   * a sign-out leaves no edits behind for the next person at this browser. */
  keepOnly(userId: number): void {
    const mine = `${PREFIX}${userId}:`;
    for (const key of this.keys()) if (!key.startsWith(mine)) this.store.removeItem(key);
  }

  private keys(): string[] {
    const keys: string[] = [];
    for (let i = 0; i < this.store.length; i++) {
      const key = this.store.key(i);
      if (key?.startsWith(PREFIX)) keys.push(key);
    }
    return keys;
  }
}

export const drafts = new Drafts();

/** What a page with unsaved edits says before it is left; null when nothing is unsaved. */
let leaveGuard: (() => string | null) | null = null;

/** Set (or with null, remove) the page's check for unsaved edits, asked before the tab
 * is closed or reloaded. In-app navigation needs no warning: the draft is kept. */
export function guardLeaving(guard: (() => string | null) | null): void {
  leaveGuard = guard;
}

/** The message to confirm before leaving the page, if any. */
export function leaveMessage(): string | null {
  return leaveGuard ? leaveGuard() : null;
}

window.addEventListener("beforeunload", (event) => {
  // The page's own edits, or drafts of other scripts: sessionStorage goes with the tab.
  if (leaveMessage() || drafts.any()) {
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to show the prompt
  }
});
