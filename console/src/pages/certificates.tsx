import { Alert, Button, Card, CardBody, CardTitle, Label, LabelGroup, Stack } from '@patternfly/react-core';
import { api } from '../api';
import { dateTime } from '../components/format';
import { Details } from '../components/details';
import { useLoad } from '../components/hooks';
import { InlineForm } from '../components/form';
import { PageFrame } from '../components/page';
import { useSession } from '../session';

type Hcn = {
  name: string; syncRequired: boolean; changedAt: string | null;
  certificate: { subject: string; issuer: string; subjectAltNames: string[]; serialNumber: string; notBefore: string; notAfter: string; fingerprintSha256: string };
};

export function CertificatesPage() {
  const session = useSession();
  const hcn = useLoad(() => api<Hcn>('GET', '/api/v1/settings/host-common-name'), []);
  const h = hcn.data;
  return (
    <PageFrame
      title="Security: Certificates"
      description="The Host Common Name products use to reach this server, and the certificate it presents."
      actions={
        <Button component="a" variant="secondary" href="/api/v1/settings/ca-certificate" download="slm-ca.pem">
          Download CA certificate
        </Button>
      }
    >
      <Stack hasGutter>
        {hcn.error && <Alert variant="danger" isInline title={hcn.error.message} />}
        {h?.syncRequired && (
          <Alert variant="warning" isInline title="Synchronization required">
            The Host Common Name changed: products cannot register until the next successful synchronization.
          </Alert>
        )}
        <Card>
          <CardTitle component="h2">Host Common Name</CardTitle>
          <CardBody>
            {h && (
              <Details
                entries={[
                  ['Current name', <strong data-testid="hcn-current">{h.name}</strong>],
                  ['Last changed', dateTime(h.changedAt)],
                ]}
              />
            )}
            {session.canWrite && h && (
              <InlineForm
                key={h.name}
                idPrefix="hcn"
                submitLabel="Change Host Common Name"
                fields={[{ name: 'name', label: 'New Host Common Name', required: true, initial: h.name, helper: 'An IPv4 or IPv6 address, or a fully qualified domain name. A new TLS certificate is issued at once.' }]}
                onSubmit={async (v) => {
                  await api('PUT', '/api/v1/settings/host-common-name', { name: String(v.name).trim() });
                  session.notify('Host Common Name changed');
                  hcn.reload();
                }}
              />
            )}
          </CardBody>
        </Card>
        {h && (
          <Card>
            <CardTitle component="h2">TLS certificate</CardTitle>
            <CardBody>
              <Details
                entries={[
                  ['Subject', h.certificate.subject],
                  [
                    'Subject alternative names',
                    <LabelGroup numLabels={10}>
                      {h.certificate.subjectAltNames.map((s) => (
                        <Label key={s}>{s}</Label>
                      ))}
                    </LabelGroup>,
                  ],
                  ['Issuer', h.certificate.issuer],
                  ['Valid from', dateTime(h.certificate.notBefore)],
                  ['Expires', dateTime(h.certificate.notAfter)],
                  ['Serial number', <span className="slm-break">{h.certificate.serialNumber}</span>],
                  ['SHA-256 fingerprint', <span className="slm-break">{h.certificate.fingerprintSha256}</span>],
                ]}
              />
            </CardBody>
          </Card>
        )}
      </Stack>
    </PageFrame>
  );
}
