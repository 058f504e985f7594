import { FormGroup, FormSelect, FormSelectOption, Flex, FlexItem } from '@patternfly/react-core';
import { api, enc } from '../api';
import type { Account, VirtualAccount } from '../types';
import { useLoad } from './hooks';

/** Account (and optionally virtual account) selectors; `onChange` gets the new choice. */
export function AccountPicker(props: {
  account?: string;
  va?: string;
  withVirtualAccount?: boolean;
  onChange: (account: string, va?: string) => void;
}) {
  const accounts = useLoad(() => api<{ accounts: Account[] }>('GET', '/api/v1/accounts').then((r) => r.accounts), []);
  const vas = useLoad(
    () => (props.withVirtualAccount && props.account ? api<{ virtualAccounts: VirtualAccount[] }>('GET', `/api/v1/accounts/${enc(props.account)}/virtual-accounts`).then((r) => r.virtualAccounts) : Promise.resolve([])),
    [props.account, props.withVirtualAccount],
  );
  return (
    <Flex>
      <FlexItem>
        <FormGroup label="Local account" fieldId="pick-account">
          <FormSelect id="pick-account" value={props.account ?? ''} onChange={(_e, v) => props.onChange(v, props.withVirtualAccount ? 'Default' : undefined)}>
            <FormSelectOption value="" label="Choose an account" isDisabled />
            {(accounts.data ?? []).map((a) => (
              <FormSelectOption key={a.id} value={a.name} label={a.status === 'ACTIVE' ? a.name : `${a.name} (${a.status.toLowerCase()})`} />
            ))}
          </FormSelect>
        </FormGroup>
      </FlexItem>
      {props.withVirtualAccount && props.account && (
        <FlexItem>
          <FormGroup label="Virtual account" fieldId="pick-va">
            <FormSelect id="pick-va" value={props.va ?? ''} onChange={(_e, v) => props.onChange(props.account!, v)}>
              {(vas.data ?? []).map((va) => (
                <FormSelectOption key={va.id} value={va.name} label={va.name} />
              ))}
            </FormSelect>
          </FormGroup>
        </FlexItem>
      )}
    </Flex>
  );
}
