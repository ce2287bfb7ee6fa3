// The ping timeline of a migration: busybox ping's output from a probe container (`ping -i 0.1`)
// turned into one slot per 100 ms, answered or missed, with the migration's frozen window placed
// on the same axis. Plain TypeScript (pingTimeline.test.ts); the React view only draws it.

export type SlotState = 'answered' | 'missed' | 'pending';

export interface PingTimelineView {
  /** Slot i is the echo request with seq=i. */
  slots: SlotState[];
  answered: number;
  missed: number;
  /** The longest run of missed slots. */
  longestGap: number;
  /** The slots the container was frozen in (`to` unset while it still is). */
  frozen?: { from: number; to?: number };
  /** The ping has ended: no slot is pending any more. */
  stopped: boolean;
}

/** "64 bytes from 10.0.1.5: seq=12 ttl=64 time=2.345 ms" */
const REPLY_RE = /\bseq=(\d+)\b/;
/** "42 packets transmitted, 40 packets received, 4% packet loss" */
const SUMMARY_RE = /^(\d+) packets transmitted, (\d+) (?:packets )?received/;
/** More slots than this are ignored (10 minutes; a migration times out at 5): the view stays bounded. */
const MAX_SLOTS = 6000;
const MAX_LINE = 512;
/** How many later replies bound a request's send time (5 s of them). */
const ENVELOPE_SLOTS = 50;

export class PingTimeline {
  /** Page time (ms) each answered seq's reply arrived. */
  private readonly arrivals = new Map<number, number>();
  /** The answered seqs, ascending. */
  private readonly answeredSeqs: number[] = [];
  private maxSeq = -1;
  private transmitted: number | undefined;
  private partial = '';
  private freezeAt: number | undefined;
  private thawAt: number | undefined;
  /** The downtime the migration's report measured, once it came. */
  private measuredMs: number | undefined;
  private stoppedAt: number | undefined;

  /**
   * @param intervalMs ping's -i
   * @param replyTimeoutMs ping's -W: a request unanswered for this long after it was due is missed
   */
  constructor(readonly intervalMs = 100, readonly replyTimeoutMs = 1000) {}

  /** Output of the ping (terminal bytes as text, any chunking) that arrived at page time `at`. */
  feed(text: string, at: number): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!.slice(-MAX_LINE);
    for (const raw of lines) this.line(raw.replace(/\r/g, '').trim(), at);
  }

  /** A migration phase at page time `at`: "freezing" opens the frozen window, the source ending its copy closes it. */
  phase(phase: string, at: number): void {
    if (phase === 'freezing' && this.freezeAt === undefined) this.freezeAt = at;
    else if ((phase === 'stopping' || phase === 'cleaning up') && this.freezeAt !== undefined) this.thawAt ??= at;
  }

  /**
   * The downtime the migration measured. Phase events reach the page late and bunched when the
   * machine is busy, so the window they span can be much wider than the freeze; the report's figure
   * sizes it instead, ending where the source's copy began to end ("stopping": the destination had
   * just said it runs the container), the event nearest the thaw.
   */
  frozenFor(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.measuredMs = ms;
  }

  /** The migration is over (done or failed): a container still marked frozen is not any more. */
  migrationEnded(at: number): void {
    if (this.freezeAt !== undefined) this.thawAt ??= at;
  }

  /** The ping has ended (its summary, if it printed one, was fed before). */
  stop(at: number): void {
    this.stoppedAt ??= at;
  }

  view(now: number): PingTimelineView {
    const stopped = this.stoppedAt !== undefined;
    const count = Math.min(MAX_SLOTS, Math.max(this.maxSeq + 1, this.transmitted ?? this.estimatedSent(stopped ? this.stoppedAt! : now)));
    const slots: SlotState[] = [];
    let answered = 0;
    let missed = 0;
    let gap = 0;
    let longestGap = 0;
    for (let seq = 0; seq < count; seq++) {
      let state: SlotState;
      if (this.arrivals.has(seq)) state = 'answered';
      // A later seq was answered, or its reply is overdue, or the ping has ended without one.
      else if (seq < this.maxSeq || stopped || now - this.sendTime(seq) > this.replyTimeoutMs) state = 'missed';
      else state = 'pending';
      slots.push(state);
      if (state === 'answered') answered++;
      if (state === 'missed') {
        missed++;
        longestGap = Math.max(longestGap, ++gap);
      } else {
        gap = 0;
      }
    }
    const view: PingTimelineView = { slots, answered, missed, longestGap, stopped };
    if (this.freezeAt !== undefined && count > 0) {
      const measured = this.thawAt !== undefined && this.measuredMs !== undefined;
      const from = this.slotAt(measured ? this.thawAt! - this.measuredMs! : this.freezeAt, count);
      view.frozen = this.thawAt === undefined ? { from } : { from, to: Math.max(from, this.slotAt(this.thawAt, count)) };
    }
    return view;
  }

  private line(line: string, at: number): void {
    const summary = SUMMARY_RE.exec(line);
    if (summary) {
      this.transmitted = Number(summary[1]);
      return;
    }
    if (!line.includes(' bytes from ')) return;
    const reply = REPLY_RE.exec(line);
    if (!reply) return;
    const seq = Number(reply[1]);
    if (seq >= MAX_SLOTS || this.arrivals.has(seq)) return; // busybox marks duplicates "(DUP!)"
    this.arrivals.set(seq, at);
    this.answeredSeqs.splice(this.firstAbove(seq), 0, seq);
    this.maxSeq = Math.max(this.maxSeq, seq);
  }

  /** Requests sent by `at`, counted from the last reply: drift between guest and page stays small. */
  private estimatedSent(at: number): number {
    if (this.maxSeq < 0) return 0;
    const last = this.arrivals.get(this.maxSeq)!;
    return this.maxSeq + 1 + Math.max(0, Math.floor((at - last) / this.intervalMs));
  }

  /**
   * When seq was sent, in page time. A reply arrives at least (s - seq) intervals after seq went
   * out for any later s, and output reaches the page late and in bursts when the machine is busy:
   * so the earliest such bound over the next answered seqs, else extrapolated past the last one.
   */
  private sendTime(seq: number): number {
    let best = Infinity;
    for (let i = this.firstAbove(seq - 1); i < this.answeredSeqs.length; i++) {
      const s = this.answeredSeqs[i]!;
      if (s > seq + ENVELOPE_SLOTS) break;
      best = Math.min(best, this.arrivals.get(s)! - (s - seq) * this.intervalMs);
    }
    if (best < Infinity) return best;
    const before = this.answeredSeqs[this.firstAbove(seq) - 1];
    return before === undefined ? 0 : this.sendTime(before) + (seq - before) * this.intervalMs;
  }

  /** The index in answeredSeqs of the first seq above `seq`. */
  private firstAbove(seq: number): number {
    let lo = 0;
    let hi = this.answeredSeqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.answeredSeqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The slot whose request went out closest to page time `at`, within [0, count). */
  private slotAt(at: number, count: number): number {
    let best = 0;
    let bestDistance = Infinity;
    for (let seq = 0; seq < count; seq++) {
      const distance = Math.abs(this.sendTime(seq) - at);
      if (distance < bestDistance) {
        best = seq;
        bestDistance = distance;
      }
    }
    return best;
  }
}
