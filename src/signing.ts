// The one signer: Standard Webhooks signatures (https://www.standardwebhooks.com/). A `whsec_` secret signs
// `v1,` (HMAC-SHA256); a `whsk_` private key signs `v1a,` (ed25519), verified with its `whpk_` public key.
import { createHmac, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const PRIVATE_KEY_PREFIX = 'whsk_';
const PUBLIC_KEY_PREFIX = 'whpk_';
/** PKCS#8 DER of an ed25519 private key, before its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** A new ed25519 key pair: `whsk_` + base64 of the 32-byte seed, `whpk_` + base64 of the public key. */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const seed = randomBytes(32);
  return { privateKey: PRIVATE_KEY_PREFIX + seed.toString('base64'), publicKey: publicKeyOf(seed) };
}

function ed25519Key(seed: Buffer) {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyOf(seed: Buffer): string {
  const jwk = createPublicKey(ed25519Key(seed)).export({ format: 'jwk' });
  return PUBLIC_KEY_PREFIX + Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/** Whether `secret` is `whsec_` followed by base64 of 24 to 64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const length = Buffer.from(b64, 'base64').length;
  return length >= 24 && length <= 64;
}

/**
 * `webhook-signature` value: per key, `v1,<base64 HMAC-SHA256>` (a `whsec_` secret) or `v1a,<base64 ed25519
 * signature>` (a `whsk_` private key) of "id.timestamp.body", space-separated.
 */
export function signatureHeader(
  keys: readonly string[],
  msgId: string,
  timestamp: number,
  body: string,
): string {
  const content = `${msgId}.${timestamp}.${body}`;
  return keys
    .map((key) => {
      if (key.startsWith(PRIVATE_KEY_PREFIX)) {
        const seed = Buffer.from(key.slice(PRIVATE_KEY_PREFIX.length), 'base64');
        return `v1a,${sign(null, Buffer.from(content), ed25519Key(seed)).toString('base64')}`;
      }
      const secret = Buffer.from(key.slice(SECRET_PREFIX.length), 'base64');
      return `v1,${createHmac('sha256', secret).update(content).digest('base64')}`;
    })
    .join(' ');
}
