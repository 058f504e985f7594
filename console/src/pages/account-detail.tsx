export function AccountDetailPage(_p: Record<string, unknown>) { return null; }
