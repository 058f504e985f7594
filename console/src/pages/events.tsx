export function EventsPage(_p: Record<string, unknown>) { return null; }
