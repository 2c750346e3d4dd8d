// Encryption at rest: what hookflow stores that would let someone sign or authenticate as it (signing secrets,
// ed25519 private keys, outbound credentials) is sealed with AES-256-GCM under a key from
// HOOKFLOW_ENCRYPTION_KEYS. The first key seals; every listed key opens, so keys rotate without downtime.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A sealed value: `hfenc1:<key id>:<iv>:<ciphertext and tag>`, both base64url. */
const SEALED = /^hfenc1:([A-Za-z0-9_-]{1,32}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]+)$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const TAG_BYTES = 16;

export class KeyringError extends Error {}

export interface Keyring {
  /** The key that seals (the first listed). */
  readonly primaryId: string;
  readonly ids: readonly string[];
  seal(plain: string): string;
  /** The plain value; a value stored before encryption (not sealed) is returned as it is. */
  open(stored: string): string;
}

/**
 * `id:base64-of-32-bytes` entries separated by commas or line breaks (the data folder's file), the first
 * sealing. Throws a KeyringError saying what is wrong, never the key material.
 */
export function parseKeys(spec: string): Keyring {
  const entries = spec.split(/[,\s]+/).filter(Boolean);
  if (entries.length === 0) throw new KeyringError('HOOKFLOW_ENCRYPTION_KEYS lists no key');
  const keys = new Map<string, Buffer>();
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (colon < 1 || !KEY_ID.test(id))
      throw new KeyringError(
        `HOOKFLOW_ENCRYPTION_KEYS entry ${i + 1} must be <id>:<base64 key>, the id of letters, digits, _ or - (at most 32)`,
      );
    if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(entry.slice(colon + 1)))
      throw new KeyringError(`HOOKFLOW_ENCRYPTION_KEYS key "${id}" must be base64 of 32 bytes`);
    if (keys.has(id)) throw new KeyringError(`HOOKFLOW_ENCRYPTION_KEYS lists key "${id}" twice`);
    keys.set(id, key);
  }
  return createKeyring(keys);
}

/** A new `id:key` entry for HOOKFLOW_ENCRYPTION_KEYS. */
export function generateKeyEntry(
  id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`,
): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** Whether `stored` is a sealed value, and under which key. */
export function sealedKeyId(stored: string): string | null {
  return SEALED.exec(stored)?.[1] ?? null;
}

function createKeyring(keys: Map<string, Buffer>): Keyring {
  const [primaryId] = keys.keys();
  const primary = keys.get(primaryId) as Buffer;
  return {
    primaryId,
    ids: [...keys.keys()],
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', primary, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `hfenc1:${primaryId}:${iv.toString('base64url')}:${body.toString('base64url')}`;
    },
    open(stored) {
      const parts = SEALED.exec(stored);
      if (!parts) return stored;
      const [, id, iv, body] = parts;
      const key = keys.get(id);
      if (!key) throw new KeyringError(`a stored secret is sealed with key "${id}", which is not configured`);
      const bytes = Buffer.from(body, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}

// The process's keyring: set once at start-up (src/main.ts; tests' stack), used by whatever seals or opens.
let current: Keyring | undefined;

export function useKeyring(keyring: Keyring): void {
  current = keyring;
}

export function keyring(): Keyring {
  if (!current) throw new KeyringError('no encryption keys configured (HOOKFLOW_ENCRYPTION_KEYS)');
  return current;
}
