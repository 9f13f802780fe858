import { DeadlineSweeper } from '@tokenserver/shared/deadline-sweeper';
import { expect } from 'chai';

describe('DeadlineSweeper', () => {
  it('expires each job once its own deadline passed, per timeout, in order, and nothing early', () => {
    const expired: number[] = [];
    const sweeper = new DeadlineSweeper((id) => expired.push(id), 1000);
    sweeper.add(1, 100, 0);
    sweeper.add(2, 50, 10);
    sweeper.add(3, 100, 20);
    sweeper.sweep(59);
    expect(expired).to.deep.equal([]);
    sweeper.sweep(60);
    expect(expired).to.deep.equal([2]);
    sweeper.sweep(119);
    expect(expired).to.deep.equal([2, 1]);
    sweeper.sweep(1000);
    expect(expired).to.deep.equal([2, 1, 3]);
    sweeper.sweep(2000);
    expect(expired).to.have.length(3);
    sweeper.close();
  });
});
