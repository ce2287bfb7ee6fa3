import { describe, expect, it } from 'vitest';
import { PingTimeline } from './pingTimeline';

const reply = (seq: number) => `64 bytes from 10.0.1.5: seq=${seq} ttl=64 time=2.412 ms\r\n`;
const states = (t: PingTimeline, now: number) => t.view(now).slots.map((s) => s[0]).join('');

describe('PingTimeline', () => {
  it('has one slot per request: answered, missed in a gap, pending while a reply may still come', () => {
    const t = new PingTimeline();
    t.feed('PING 10.0.1.5 (10.0.1.5): 56 data bytes\r\n', 0);
    expect(t.view(0).slots).toEqual([]);
    for (const seq of [0, 1, 2]) t.feed(reply(seq), 1000 + seq * 100);
    // 3..7 unanswered; 8 answered: the gap is missed for good.
    t.feed(reply(8), 1800);
    expect(states(t, 1800)).toBe('aaammmmma');
    expect(t.view(1800)).toMatchObject({ answered: 4, missed: 5, longestGap: 5, stopped: false });
    // Past the last reply: pending until the reply timeout (1 s), then missed.
    expect(states(t, 2150)).toBe('aaammmmmappp');
    expect(states(t, 3050)).toBe('aaammmmmammpppppppppp');
  });

  it('takes output in any chunks, ignores other lines and duplicates', () => {
    const t = new PingTimeline();
    const text = `ping -i 0.1 -W 1 10.0.1.5\r\n${reply(0)}${reply(1)}64 bytes from 10.0.1.5: seq=1 ttl=64 time=9 ms (DUP!)\r\n`
      + 'ping: sendto: Network unreachable\r\n' + reply(2);
    for (let i = 0; i < text.length; i += 7) t.feed(text.slice(i, i + 7), 100);
    expect(t.view(100)).toMatchObject({ answered: 3, missed: 0 });
    // A line that never ends is not kept whole.
    t.feed('x'.repeat(100_000), 100);
    t.feed(`\n${reply(3)}`, 200);
    expect(t.view(200).answered).toBe(4);
  });

  it('settles every slot once ping stops, with the count its summary gives', () => {
    const t = new PingTimeline();
    for (const seq of [0, 1, 3]) t.feed(reply(seq), seq * 100);
    t.feed('\r\n--- 10.0.1.5 ping statistics ---\r\n6 packets transmitted, 3 packets received, 50% packet loss\r\n', 600);
    t.stop(600);
    expect(t.view(10_000)).toMatchObject({ slots: ['answered', 'answered', 'missed', 'answered', 'missed', 'missed'], missed: 3, stopped: true });
  });

  it('places the frozen window on the slots it covers, from the phases\' page times', () => {
    const t = new PingTimeline();
    for (let seq = 0; seq < 20; seq++) if (seq < 8 || seq > 11) t.feed(reply(seq), 5000 + seq * 100);
    t.phase('pre-copy 1', 5100);
    t.phase('freezing', 5650);
    expect(t.view(7000).frozen).toEqual({ from: 6 }); // seq 6 went out at 5600: still frozen
    t.phase('committing', 6000);
    t.phase('cleaning up', 6420);
    t.phase('freezing', 9999); // only the first freeze counts
    expect(t.view(7000).frozen).toEqual({ from: 6, to: 14 });
  });

  it('places it right when the replies reach the page late and in a burst (a busy machine)', () => {
    const t = new PingTimeline();
    // Sent at 1000 + seq * 100; the replies of 0..9 arrive together at 2000, the later ones at once.
    t.feed([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(reply).join(''), 2000);
    for (let seq = 10; seq < 20; seq++) t.feed(reply(seq), 1000 + seq * 100 + 5);
    t.phase('freezing', 1500);
    t.phase('cleaning up', 2300);
    expect(t.view(3000).frozen).toEqual({ from: 5, to: 13 });
  });

  it('sizes the window from the measured downtime once the report comes, ending at "stopping"', () => {
    const t = new PingTimeline();
    for (let seq = 0; seq < 30; seq++) t.feed(reply(seq), 1000 + seq * 100 + 5);
    // A busy page: "freezing" reached it 1.2 s before "stopping", though the freeze lasted 300 ms.
    t.phase('freezing', 1500);
    t.phase('stopping', 2700);
    expect(t.view(4000).frozen).toEqual({ from: 5, to: 17 });
    t.frozenFor(300);
    expect(t.view(4000).frozen).toEqual({ from: 14, to: 17 });
    t.frozenFor(Number.NaN); // a malformed figure changes nothing
    expect(t.view(4000).frozen).toEqual({ from: 14, to: 17 });
  });

  it('closes the frozen window when the migration ends without the source ending its copy (a failure)', () => {
    const t = new PingTimeline();
    for (let seq = 0; seq < 10; seq++) t.feed(reply(seq), seq * 100);
    t.phase('freezing', 200);
    t.migrationEnded(500);
    expect(t.view(1000).frozen).toEqual({ from: 2, to: 5 });
    const never = new PingTimeline();
    never.feed(reply(0), 0);
    never.migrationEnded(500);
    expect(never.view(1000).frozen).toBeUndefined();
  });
});
