export function LicensingPage(_p: Record<string, unknown>) { return null; }
