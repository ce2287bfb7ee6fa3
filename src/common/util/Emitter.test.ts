import { describe, expect, it } from 'vitest';
import { DisposableStore, Emitter } from './Emitter';

describe('Emitter', () => {
  it('delivers to listeners until they unsubscribe', () => {
    const emitter = new Emitter<number>();
    const seen: number[] = [];
    const sub = emitter.event((v) => seen.push(v));
    emitter.fire(1);
    sub.dispose();
    emitter.fire(2);
    expect(seen).toEqual([1]);
  });

  it('lets a listener unsubscribe itself while firing without skipping others', () => {
    const emitter = new Emitter<string>();
    const seen: string[] = [];
    const first = emitter.event(() => { seen.push('first'); first.dispose(); });
    emitter.event(() => seen.push('second'));
    emitter.fire('x');
    emitter.fire('y');
    expect(seen).toEqual(['first', 'second', 'second']);
  });
});

describe('DisposableStore', () => {
  it('disposes newest first, and at once what is added after disposal', () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.add({ dispose: () => order.push('a') });
    store.add({ dispose: () => order.push('b') });
    store.dispose();
    store.add({ dispose: () => order.push('late') });
    expect(order).toEqual(['b', 'a', 'late']);
  });
});
