/** Settings key of the Host Common Name; the full feature (validation, live change) lives in this folder. */
export const HOST_COMMON_NAME_KEY = 'hostCommonName';
