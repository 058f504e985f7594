import { useRef } from 'react';
import { Button } from '@patternfly/react-core';

/** A button that opens the file chooser and hands over the JSON file chosen (parsed), or a parse error. */
export function JsonFileButton({ label, disabled, onFile }: { label: string; disabled?: boolean; onFile: (json: Promise<unknown>, name: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <Button variant="secondary" onClick={() => input.current?.click()} isDisabled={disabled}>
        {label}
      </Button>
      <input
        ref={input}
        className="slm-hidden-input"
        type="file"
        accept="application/json,.json"
        aria-label={label}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          const json = file.text().then((text) => {
            try {
              return JSON.parse(text) as unknown;
            } catch {
              throw new Error(`${file.name} is not a JSON file`);
            }
          });
          onFile(json, file.name);
        }}
      />
    </>
  );
}
