// What an endpoint keeps that proves hookflow's identity or opens the receiver's door: signing keys and outbound
// credentials. Stored sealed (src/secrets/keyring.ts), opened only to sign or authenticate a request, and
// shown once, when made (signing secrets) or never (credentials; reads say which type is set).
import { keyring } from '../secrets/keyring';
import { generateKeyPair, generateSecret } from '../signing';

export const SIGNING_SCHEMES = ['hmac', 'ed25519'] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

export interface SigningSecret {
  /** Sealed `whsec_` secret (hmac) or `whsk_` private key (ed25519). */
  secret: string;
  /** The ed25519 public key (`whpk_`), readable at any time; absent for an HMAC secret. */
  public_key?: string | null;
  /** null while current; set when rotated out: it keeps signing until then. */
  expires_at: Date | null;
  created_at: Date;
}

/** A new current signing key; `shown` is what the creation or rotation answer reveals (never a private key). */
export function newSigningSecret(
  scheme: SigningScheme,
  given: string | undefined,
  now = new Date(),
): { stored: SigningSecret; shown: { secret?: string } } {
  if (scheme === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPair();
    return {
      stored: {
        secret: keyring().seal(privateKey),
        public_key: publicKey,
        expires_at: null,
        created_at: now,
      },
      shown: {},
    };
  }
  const secret = given ?? generateSecret();
  return { stored: { secret: keyring().seal(secret), expires_at: null, created_at: now }, shown: { secret } };
}

/** The keys that sign a request sent at `now`: the current one and rotated ones still in their grace period. */
export function signingKeys(endpoint: { secrets: SigningSecret[] }, now = new Date()): string[] {
  return endpoint.secrets
    .filter((s) => s.expires_at === null || s.expires_at > now)
    .map((s) => keyring().open(s.secret));
}

/** The current signing key's scheme and, for ed25519, its public key. */
export function currentSigning(endpoint: { secrets: SigningSecret[] }): {
  signing: SigningScheme;
  public_key: string | null;
} {
  const current = endpoint.secrets.find((s) => s.expires_at === null) ?? endpoint.secrets.at(-1);
  return current?.public_key
    ? { signing: 'ed25519', public_key: current.public_key }
    : { signing: 'hmac', public_key: null };
}

/** How hookflow authenticates to the receiver, as given (write-only). */
export type OutboundAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'header'; name: string; value: string }
  | {
      type: 'oauth2_client_credentials';
      token_url: string;
      client_id: string;
      client_secret: string;
      scope?: string;
    };

/** What reads show of it: the type and the parts that authenticate nothing. */
export interface AuthSummary {
  type: OutboundAuth['type'];
  name?: string;
  token_url?: string;
  scope?: string;
}

/** As stored: the summary, and the whole of it sealed. */
export interface StoredAuth extends AuthSummary {
  credentials: string;
}

export function sealAuth(auth: OutboundAuth): StoredAuth {
  return { ...summarizeAuth(auth), credentials: keyring().seal(JSON.stringify(auth)) };
}

export function openAuth(stored: StoredAuth): OutboundAuth {
  return JSON.parse(keyring().open(stored.credentials)) as OutboundAuth;
}

export function summarizeAuth(auth: AuthSummary): AuthSummary {
  const summary: AuthSummary = { type: auth.type };
  if (auth.type === 'header') summary.name = auth.name;
  if (auth.type === 'oauth2_client_credentials') {
    summary.token_url = auth.token_url;
    if (auth.scope) summary.scope = auth.scope;
  }
  return summary;
}
