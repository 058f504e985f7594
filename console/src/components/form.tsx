import { useId, useState, type FormEvent, type ReactNode } from 'react';
import {
  ActionGroup, Alert, Button, Checkbox, Form, FormGroup, FormHelperText, FormSelect, FormSelectOption, HelperText, HelperTextItem,
  Modal, ModalBody, ModalFooter, ModalHeader, TextInput,
} from '@patternfly/react-core';
import { ApiError } from '../api';

export type Field = {
  name: string;
  label: string;
  type?: 'text' | 'password' | 'number' | 'email' | 'select' | 'checkbox';
  options?: { value: string; label: string }[];
  required?: boolean;
  helper?: string;
  initial?: string | boolean;
  autoComplete?: string;
};
export type Values = Record<string, string | boolean>;

/** Codes the server gives for one field of a form, when the validator's path does not say. */
const CODE_FIELDS: Record<string, string> = {
  INVALID_HOST_COMMON_NAME: 'name', FQDN_REQUIRED_IN_DUAL_STACK: 'name', USER_EXISTS: 'username', ACCOUNT_EXISTS: 'name',
  INVALID_NAME: 'name', VIRTUAL_ACCOUNT_EXISTS: 'name', API_CLIENT_EXISTS: 'name', INVALID_PASSWORD: 'currentPassword', INVALID_CREDENTIALS: 'currentPassword', WEAK_PASSWORD: 'newPassword',
};

function initialValues(fields: Field[]): Values {
  return Object.fromEntries(fields.map((f) => [f.name, f.initial ?? (f.type === 'checkbox' ? false : f.type === 'select' ? f.options?.[0]?.value ?? '' : '')]));
}

/**
 * A form whose server refusal is shown next to the field it concerns (from the validator's path,
 * the error code, or the only field), else above the buttons.
 */
export function useServerForm(fields: Field[], submit: (values: Values) => Promise<void>) {
  const [values, setValues] = useState<Values>(() => initialValues(fields));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e?: FormEvent) => {
    e?.preventDefault();
    const missing = fields.filter((f) => f.required && f.type !== 'checkbox' && String(values[f.name]).trim() === '');
    if (missing.length) {
      setFieldErrors(Object.fromEntries(missing.map((f) => [f.name, `${f.label} is required`])));
      return;
    }
    setBusy(true);
    setFieldErrors({});
    setFormError(undefined);
    try {
      await submit(values);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError(0, 'ERROR', String(err));
      const named = apiErr.field() ?? CODE_FIELDS[apiErr.code];
      const field = fields.find((f) => f.name === named) ?? (fields.length === 1 && apiErr.status < 500 && apiErr.status !== 0 ? fields[0] : undefined);
      if (field) setFieldErrors({ [field.name]: apiErr.message });
      else setFormError(`${apiErr.message}`);
    } finally {
      setBusy(false);
    }
  };
  return { values, setValues, fieldErrors, formError, busy, onSubmit };
}

export function FormFields({ fields, form, idPrefix }: { fields: Field[]; form: ReturnType<typeof useServerForm>; idPrefix: string }) {
  const set = (name: string, v: string | boolean) => form.setValues((old) => ({ ...old, [name]: v }));
  return (
    <>
      {fields.map((f) => {
        const id = `${idPrefix}-${f.name}`;
        const error = form.fieldErrors[f.name];
        const validated = error ? 'error' : 'default';
        const helper = error ?? f.helper;
        const helperText = helper ? (
          <FormHelperText>
            <HelperText id={`${id}-helper`}>
              <HelperTextItem variant={error ? 'error' : 'default'}>{helper}</HelperTextItem>
            </HelperText>
          </FormHelperText>
        ) : null;
        if (f.type === 'checkbox') {
          return (
            <FormGroup key={f.name} fieldId={id}>
              <Checkbox id={id} label={f.label} isChecked={form.values[f.name] === true} onChange={(_e, v) => set(f.name, v)} />
              {helperText}
            </FormGroup>
          );
        }
        return (
          <FormGroup key={f.name} label={f.label} isRequired={f.required} fieldId={id}>
            {f.type === 'select' ? (
              <FormSelect id={id} value={String(form.values[f.name])} onChange={(_e, v) => set(f.name, v)} validated={validated} aria-describedby={helper ? `${id}-helper` : undefined}>
                {(f.options ?? []).map((o) => <FormSelectOption key={o.value} value={o.value} label={o.label} />)}
              </FormSelect>
            ) : (
              <TextInput
                id={id}
                name={f.name}
                type={f.type ?? 'text'}
                value={String(form.values[f.name])}
                onChange={(_e, v) => set(f.name, v)}
                validated={validated}
                isRequired={f.required}
                autoComplete={f.autoComplete}
                aria-describedby={helper ? `${id}-helper` : undefined}
              />
            )}
            {helperText}
          </FormGroup>
        );
      })}
      {form.formError && <Alert variant="danger" isInline title={form.formError} />}
    </>
  );
}

/** A modal dialog with one main button (submitting `form`, or calling `onClick`) and Cancel. */
function Dialog(props: {
  title: string;
  description?: ReactNode;
  warning?: boolean;
  busy: boolean;
  primary: { label: string; form?: string; onClick?: () => void; danger?: boolean };
  onClose: () => void;
  children: ReactNode;
}) {
  const titleId = `${useId().replace(/:/g, '')}-title`;
  return (
    <Modal isOpen variant="small" onClose={props.onClose} aria-labelledby={titleId}>
      <ModalHeader title={props.title} labelId={titleId} description={props.description} titleIconVariant={props.warning ? 'warning' : undefined} />
      <ModalBody>{props.children}</ModalBody>
      <ModalFooter>
        <Button
          type={props.primary.form ? 'submit' : 'button'}
          form={props.primary.form}
          onClick={props.primary.onClick}
          variant={props.primary.danger ? 'danger' : 'primary'}
          isLoading={props.busy}
          isDisabled={props.busy}
        >
          {props.primary.label}
        </Button>
        <Button variant="link" onClick={props.onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

/** A form in a modal dialog; the caller closes it when its submit succeeds. */
export function FormModal(props: {
  title: string;
  fields: Field[];
  submitLabel: string;
  onSubmit: (values: Values) => Promise<void>;
  onClose: () => void;
  description?: ReactNode;
}) {
  const id = useId().replace(/:/g, '');
  const form = useServerForm(props.fields, props.onSubmit);
  return (
    <Dialog title={props.title} description={props.description} busy={form.busy} primary={{ label: props.submitLabel, form: `${id}-form` }} onClose={props.onClose}>
      <Form id={`${id}-form`} onSubmit={form.onSubmit}>
        <FormFields fields={props.fields} form={form} idPrefix={id} />
      </Form>
    </Dialog>
  );
}

/** The same form inline on a page (Host Common Name). */
export function InlineForm(props: { fields: Field[]; submitLabel: string; onSubmit: (values: Values) => Promise<void>; idPrefix: string }) {
  const form = useServerForm(props.fields, props.onSubmit);
  return (
    <Form onSubmit={form.onSubmit} maxWidth="40rem">
      <FormFields fields={props.fields} form={form} idPrefix={props.idPrefix} />
      <ActionGroup>
        <Button type="submit" isLoading={form.busy} isDisabled={form.busy}>
          {props.submitLabel}
        </Button>
      </ActionGroup>
    </Form>
  );
}

/** "Are you sure?" for deactivate, delete, revoke and remove. */
export function ConfirmModal(props: { title: string; body: ReactNode; confirmLabel: string; onConfirm: () => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} warning busy={busy} primary={{ label: props.confirmLabel, onClick: confirm, danger: true }} onClose={props.onClose}>
      {props.body}
      {error && <Alert variant="danger" isInline title={error} />}
    </Dialog>
  );
}
