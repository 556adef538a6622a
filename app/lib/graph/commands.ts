// Undo and redo for the designer: a stack of commands, each a pair of API
// operations (do / undo). Undoing a delete re-creates the object under a new
// id, so commands record the id an object had when they were made and look
// up its current id through `ctx.id()` at the time they run.

export interface CommandContext {
  /** The current id of the object first known as `original`. */
  id(original: string): string;
  /** Records that the object first known as `original` now lives under `current`. */
  remap(original: string, current: string): void;
}

export interface Command {
  label: string;
  do(ctx: CommandContext): Promise<void>;
  undo(ctx: CommandContext): Promise<void>;
}

export interface StackSnapshot {
  canUndo: boolean;
  canRedo: boolean;
  undoLabel: string | null;
  redoLabel: string | null;
  busy: boolean;
}

export class CommandBusyError extends Error {
  constructor() {
    super('another change is still being applied');
    this.name = 'CommandBusyError';
  }
}

export class CommandStack {
  private done: Command[] = [];
  private undone: Command[] = [];
  private busy = false;
  private readonly ids = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private snap: StackSnapshot = this.makeSnapshot();

  constructor(private readonly limit = 200) {}

  readonly ctx: CommandContext = {
    id: (original) => {
      let id = original;
      // Follow chains (deleted, re-created, deleted, re-created…), guarding against cycles.
      for (let hops = 0; hops < 1000; hops++) {
        const next = this.ids.get(id);
        if (next === undefined || next === id) break;
        id = next;
      }
      return id;
    },
    remap: (original, current) => {
      if (original !== current) this.ids.set(original, current);
    },
  };

  /** Runs a new command; on success it can be undone and the redo list is dropped. */
  async run(cmd: Command): Promise<void> {
    await this.exclusive(async () => {
      await cmd.do(this.ctx);
      this.done.push(cmd);
      if (this.done.length > this.limit) this.done.shift();
      this.undone = [];
    });
  }

  /** Undoes the latest command; when its API call fails it stays where it was. */
  async undo(): Promise<boolean> {
    return this.exclusive(async () => {
      const cmd = this.done.at(-1);
      if (!cmd) return false;
      await cmd.undo(this.ctx);
      this.done.pop();
      this.undone.push(cmd);
      return true;
    });
  }

  async redo(): Promise<boolean> {
    return this.exclusive(async () => {
      const cmd = this.undone.at(-1);
      if (!cmd) return false;
      await cmd.do(this.ctx);
      this.undone.pop();
      this.done.push(cmd);
      return true;
    });
  }

  /** Forgets history (after a reload: recorded ids and values may no longer hold). */
  clear(): void {
    this.done = [];
    this.undone = [];
    this.ids.clear();
    this.changed();
  }

  snapshot(): StackSnapshot {
    return this.snap;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new CommandBusyError();
    this.busy = true;
    this.changed();
    try {
      return await fn();
    } finally {
      this.busy = false;
      this.changed();
    }
  }

  private makeSnapshot(): StackSnapshot {
    return {
      canUndo: this.done.length > 0,
      canRedo: this.undone.length > 0,
      undoLabel: this.done.at(-1)?.label ?? null,
      redoLabel: this.undone.at(-1)?.label ?? null,
      busy: this.busy,
    };
  }

  private changed(): void {
    // A new object only when something changed, as useSyncExternalStore expects.
    this.snap = this.makeSnapshot();
    for (const l of this.listeners) l();
  }
}
