import { BadRestParameter } from '../rest/rest-error';
import {
  payloadObject,
  presentedKey,
  serviceFailure,
  serviceSuccess,
  UnreadablePayload,
} from './service-wire';

describe('the NATS reply envelope', () => {
  it('is the REST envelope, the route status in responseCode', () => {
    expect(serviceSuccess({ id: 3 })).toEqual({
      message: '',
      success: true,
      responseCode: 200,
      object: { id: 3 },
    });
    expect(serviceSuccess(undefined).object).toBeNull();
    expect(serviceFailure(404, 'No ScanQueueTask found with id 9.')).toEqual({
      message: 'No ScanQueueTask found with id 9.',
      success: false,
      responseCode: 404,
      object: null,
    });
  });
});

describe('presentedKey', () => {
  it('takes the Authorization header first, the payload apiKey without one', () => {
    expect(presentedKey('APIKEY abc', { apiKey: 'other' })).toBe('abc');
    expect(presentedKey('  apikey   abc  ', undefined)).toBe('abc');
    expect(presentedKey(undefined, { apiKey: 'other' })).toBe('other');
    expect(presentedKey('', { apiKey: 'other' })).toBe('other');
  });

  it('presents no key for a malformed header or a key that is not a string', () => {
    expect(presentedKey('Bearer abc', { apiKey: 'other' })).toBeUndefined();
    expect(presentedKey('APIKEY a b', undefined)).toBeUndefined();
    expect(presentedKey(undefined, { apiKey: 42 })).toBeUndefined();
    expect(presentedKey(undefined, { apiKey: '' })).toBeUndefined();
    expect(presentedKey(undefined, 'apiKey')).toBeUndefined();
  });
});

describe('payloadObject', () => {
  it('takes a JSON object and refuses anything else with a 400 that says why', () => {
    expect(payloadObject({ id: 1 })).toEqual({ id: 1 });
    expect(() => payloadObject(new UnreadablePayload())).toThrow('The message is not valid JSON.');
    for (const value of [undefined, null, [1], 'id', 7])
      expect(() => payloadObject(value)).toThrow(BadRestParameter);
    expect(() => payloadObject([1])).toThrow('The message must be a JSON object.');
  });
});
