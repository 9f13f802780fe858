import fc from 'fast-check';
import { fuzz } from './fuzz.js';

// A fuzz property whose third input never returns: what a parser stuck in a loop looks like to the fuzz helpers.

let inputs = 0;
fuzz(fc.nat(), () => {
  inputs++;
  while (inputs >= 3) {
    // stuck by design
  }
});
