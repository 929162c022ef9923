// Test PKI: a throwaway CA and a leaf it signs (SAN localhost + 127.0.0.1), generated with openssl into a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly caCert: string;
  readonly leafCert: string;
  readonly leafKey: string;
  /** A second, unrelated CA: a client trusting only it must refuse the server. */
  readonly otherCaCert: string;
  /** A key that does not belong to `leafCert`. */
  readonly strayKey: string;
  /** Client certificates (clientAuth): `CN=reporter, O=batpak` and `CN=stranger` signed by the CA, `CN=rogue` by the other CA. */
  readonly reporter: { readonly cert: string; readonly key: string };
  readonly stranger: { readonly cert: string; readonly key: string };
  readonly rogue: { readonly cert: string; readonly key: string };
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'netbat-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=netbat test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(dir, ['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(dir, ['req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
    writeFileSync(
      join(dir, 'leaf.ext'),
      ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1'].join('\n'),
    );
    openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '2', '-extfile', 'leaf.ext']);
    writeFileSync(join(dir, 'client.ext'), ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'].join('\n'));
    const client = (name: string, subject: string, ca: string): void => {
      openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'client.ext']);
    };
    client('reporter', '/CN=reporter/O=batpak', 'ca');
    client('stranger', '/CN=stranger', 'ca');
    client('rogue', '/CN=rogue', 'other');
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    const pair = (name: string) => ({ cert: read(`${name}.crt`), key: read(`${name}.key`) });
    return {
      caCert: read('ca.crt'),
      leafCert: read('leaf.crt'),
      leafKey: read('leaf.key'),
      otherCaCert: read('other.crt'),
      strayKey: read('other.key'),
      reporter: pair('reporter'),
      stranger: pair('stranger'),
      rogue: pair('rogue'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
