/** Where services get the time from: tests inject a fixed or moving clock. */
export type Clock = () => Date;
