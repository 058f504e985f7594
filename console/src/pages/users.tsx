export function UsersPage(_p: Record<string, unknown>) { return null; }
