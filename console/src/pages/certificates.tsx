export function CertificatesPage(_p: Record<string, unknown>) { return null; }
