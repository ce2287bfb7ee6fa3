import { describe, expect, it } from 'vitest';
import { mipsText, pageReadyText, startNote, startText } from './statusFigures';

describe('startText', () => {
  it('says a restored host was restored, with its time', () => {
    expect(startText({ fromState: true, bootMs: 412 })).toBe('restored from saved state in 0.41 s');
  });

  it('says a cold boot was one, with fewer decimals once it is long', () => {
    expect(startText({ fromState: false, bootMs: 3456 })).toBe('cold boot in 3.46 s');
    expect(startText({ fromState: false, bootMs: 12_340 })).toBe('cold boot in 12.3 s');
  });
});

describe('startNote', () => {
  it('gives the reason a saved state was not used', () => {
    expect(startNote({ fromState: false, stateProblem: 'the saved state is stale: kernel differs' }))
      .toBe('not restored: the saved state is stale: kernel differs');
  });

  it('has nothing to say for a restore or a boot without a state', () => {
    expect(startNote({ fromState: true })).toBeUndefined();
    expect(startNote({ fromState: false })).toBeUndefined();
  });
});

describe('mipsText', () => {
  it('rounds to whole MIPS from 10 up and keeps one decimal below', () => {
    expect(mipsText(312.6)).toBe('313 MIPS');
    expect(mipsText(10)).toBe('10 MIPS');
    expect(mipsText(2.345)).toBe('2.3 MIPS');
  });

  it('has no figure before the first interval or for nonsense', () => {
    expect(mipsText(undefined)).toBeUndefined();
    expect(mipsText(0)).toBeUndefined();
    expect(mipsText(Number.NaN)).toBeUndefined();
  });
});

describe('pageReadyText', () => {
  it('counts the hosts', () => {
    expect(pageReadyText(1040, 2)).toBe('2 hosts ready 1.04 s after page load');
    expect(pageReadyText(980, 1)).toBe('host ready 0.98 s after page load');
  });
});
