/** The API's shapes, as openapi.yaml describes them (only the fields the console reads). */
export type Account = {
  id: string; name: string; description: string | null; contactEmail: string | null; smartAccount: string | null;
  status: 'REQUESTED' | 'ACTIVE' | 'INACTIVE'; createdAt: string; approvedAt: string | null;
};
export type VirtualAccount = { id: string; name: string; createdAt: string };
export type AccountDetail = Account & { virtualAccounts: VirtualAccount[] };
export type RegistrationToken = {
  id: string; description: string; createdAt: string; createdBy: string; expiresAt: string; maxUses: number; uses: number; usesLeft: number;
  exportControlled: boolean; status: string; token?: string;
};
export type LicenseAlert = { messageType: string; severity: string; message: string };
export type LicenseRow = {
  license: string; status: string; quantity: number; inUse: number; available: number; tag: string; billingType: string | null;
  family: string | null; tier: number | null; substitution: number; borrowed: number; lent: number; balance: number; virtualAccount: string;
  endsAt: string | null; alerts: LicenseAlert[];
};
export type Alert = { type: string; severity: string; message: string; virtualAccount: string | null; source: string; license?: string; productInstance?: string };
export type ProductInstance = {
  id: string; name: string; productType: string; udi: { pid: string; sn: string }; status: string; lastContactAt: string; certificateExpires: string;
  alerts: LicenseAlert[];
};
export type ProductInstanceDetail = ProductInstance & {
  usage: { tag: string; count: number }[]; softwareVersion: string | null; exportControlled: boolean; registeredAt: string;
  deregisteredAt: string | null; certificateSerial: string;
};
export type Page<K extends string, T> = { page: number; pageSize: number; total: number } & Record<K, T[]>;
