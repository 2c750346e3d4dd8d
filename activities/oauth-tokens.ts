// OAuth2 client-credentials tokens for endpoints that authenticate that way: fetched from the token URL (through
// the same guarded dispatcher as webhooks, so the SSRF policy holds), kept per worker until they expire, and
// fetched again when a receiver answers 401. Concurrent attempts of one endpoint share one fetch.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { OutboundAuth } from '../src/endpoints/credentials';

type ClientCredentials = Extract<OutboundAuth, { type: 'oauth2_client_credentials' }>;

/** The token endpoint's answer could not be used; the message names no credential. */
export class TokenError extends Error {}

export interface FetchedToken {
  accessToken: string;
  /** Seconds it is valid for, if the token endpoint said. */
  expiresInS: number | null;
}

/** A token is renewed this long before the expiry it was given with, so that it does not lapse in flight. */
const EXPIRY_MARGIN_MS = 30_000;

interface Entry {
  token: Promise<FetchedToken>;
  /** Epoch ms; null: until a receiver refuses it. */
  expiresAt: number | null;
}

export class OAuthTokens {
  private readonly cache = new LRUCache<string, Entry>({ max: 10_000 });

  constructor(
    private readonly fetchToken: (auth: ClientCredentials, timeoutMs: number) => Promise<FetchedToken>,
  ) {}

  /**
   * A valid token for the endpoint's credentials, fetched within `timeoutMs` if need be; `renew`: not the one
   * cached (a receiver refused it).
   */
  async get(
    endpointId: string,
    auth: ClientCredentials,
    timeoutMs: number,
    { renew = false } = {},
  ): Promise<string> {
    // Keyed by the credentials too: changing them on the endpoint fetches a token for the new ones.
    const key = `${endpointId}:${createHash('sha256').update(JSON.stringify(auth)).digest('base64url')}`;
    const cached = this.cache.get(key);
    if (cached && !renew && (cached.expiresAt === null || cached.expiresAt > Date.now()))
      return (await cached.token).accessToken;
    const entry: Entry = { token: this.fetchToken(auth, timeoutMs), expiresAt: null };
    this.cache.set(key, entry);
    try {
      const fetched = await entry.token;
      if (fetched.expiresInS !== null)
        entry.expiresAt = Date.now() + Math.max(0, fetched.expiresInS * 1000 - EXPIRY_MARGIN_MS);
      return fetched.accessToken;
    } catch (err) {
      if (this.cache.get(key) === entry) this.cache.delete(key);
      throw err;
    }
  }
}
