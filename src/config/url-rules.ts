/** What counts as a target URL here: http(s) with a scheme; internal hosts need no TLD. */
export const HTTP_URL_RULES = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
};
