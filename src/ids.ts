import { randomBytes } from 'node:crypto';

// Crockford base32: ids sort by creation time (the first 10 characters are the millisecond clock), which is
// what cursor pagination orders by.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'prj' | 'key' | 'ep' | 'evt' | 'dlv' | 'att' | 'op';

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(10);
  let rand = '';
  for (const byte of random) rand += ALPHABET[byte % 32];
  return `${prefix}_${time}${rand}`;
}

export const ID_PATTERN = /^[a-z]{2,3}_[0-9a-z]{20}$/;
