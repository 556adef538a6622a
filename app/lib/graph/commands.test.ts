import { describe, expect, it } from 'vitest';
import { CommandBusyError, CommandStack, type Command } from './commands.ts';

/** A fake store with the API's behaviour that matters here: re-creating gives a new id. */
function store() {
  let seq = 0;
  const objects = new Map<string, string>();
  return {
    objects,
    create(name: string) {
      const id = `id-${++seq}`;
      objects.set(id, name);
      return id;
    },
    remove(id: string) {
      if (!objects.delete(id)) throw new Error(`no object ${id}`);
    },
    rename(id: string, name: string) {
      if (!objects.has(id)) throw new Error(`no object ${id}`);
      objects.set(id, name);
    },
  };
}

function createCmd(s: ReturnType<typeof store>, name: string): Command & { original: () => string } {
  let original: string | null = null;
  return {
    label: `add ${name}`,
    original: () => original!,
    async do(ctx) {
      const id = s.create(name);
      if (original === null) original = id;
      else ctx.remap(original, id);
    },
    async undo(ctx) {
      s.remove(ctx.id(original!));
    },
  };
}

function renameCmd(s: ReturnType<typeof store>, original: string, from: string, to: string): Command {
  return {
    label: `rename to ${to}`,
    async do(ctx) {
      s.rename(ctx.id(original), to);
    },
    async undo(ctx) {
      s.rename(ctx.id(original), from);
    },
  };
}

describe('CommandStack', () => {
  it('undoes and redoes, following re-created ids', async () => {
    const s = store();
    const stack = new CommandStack();
    const add = createCmd(s, 'a');
    await stack.run(add);
    await stack.run(renameCmd(s, add.original(), 'a', 'b'));
    expect([...s.objects.values()]).toEqual(['b']);

    await stack.undo();
    await stack.undo();
    expect(s.objects.size).toBe(0);
    await stack.redo(); // re-created under a new id
    await stack.redo(); // the rename must reach the new id
    expect([...s.objects]).toEqual([['id-2', 'b']]);
    expect(stack.snapshot()).toMatchObject({ canUndo: true, canRedo: false, undoLabel: 'rename to b' });

    // A second round trip chains the remapping (id-1 → id-2 → id-3).
    await stack.undo();
    await stack.undo();
    await stack.redo();
    await stack.redo();
    expect([...s.objects]).toEqual([['id-3', 'b']]);
  });

  it('drops the redo list when a new command runs', async () => {
    const s = store();
    const stack = new CommandStack();
    await stack.run(createCmd(s, 'a'));
    await stack.undo();
    expect(stack.snapshot().canRedo).toBe(true);
    await stack.run(createCmd(s, 'b'));
    expect(stack.snapshot()).toMatchObject({ canRedo: false, undoLabel: 'add b' });
  });

  it('keeps a command in place when its undo fails', async () => {
    const s = store();
    const stack = new CommandStack();
    const add = createCmd(s, 'a');
    await stack.run(add);
    s.objects.clear(); // someone else deleted it
    await expect(stack.undo()).rejects.toThrow(/no object/);
    expect(stack.snapshot()).toMatchObject({ canUndo: true, canRedo: false, busy: false });
  });

  it('refuses to run two changes at once and notifies listeners', async () => {
    const stack = new CommandStack();
    let release!: () => void;
    const slow: Command = { label: 'slow', do: () => new Promise<void>((r) => (release = r)), undo: async () => {} };
    let notified = 0;
    stack.subscribe(() => notified++);
    const first = stack.run(slow);
    expect(stack.snapshot().busy).toBe(true);
    await expect(stack.run(slow)).rejects.toBeInstanceOf(CommandBusyError);
    release();
    await first;
    expect(stack.snapshot().busy).toBe(false);
    expect(notified).toBeGreaterThanOrEqual(2);
  });

  it('forgets history on clear and caps its length', async () => {
    const s = store();
    const stack = new CommandStack(2);
    for (const n of ['a', 'b', 'c']) await stack.run(createCmd(s, n));
    expect(await stack.undo()).toBe(true);
    expect(await stack.undo()).toBe(true);
    expect(await stack.undo()).toBe(false);
    stack.clear();
    expect(stack.snapshot()).toMatchObject({ canUndo: false, canRedo: false });
  });
});
