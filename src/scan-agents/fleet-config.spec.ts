import { UsageThrottle } from '../auth/usage-throttle';
import { loadAppConfig } from '../config/app-config';

describe('AGENT_ONLINE_SECONDS', () => {
  it('is validated and bounded; last-seen writes come at a quarter of it, a minute at most', () => {
    expect(loadAppConfig({}).AGENT_ONLINE_SECONDS).toBe(120);
    expect(loadAppConfig({}).agentSeenWriteSeconds).toBe(30);
    expect(loadAppConfig({ AGENT_ONLINE_SECONDS: '2' }).agentSeenWriteSeconds).toBe(0.5);
    expect(loadAppConfig({ AGENT_ONLINE_SECONDS: '3600' }).agentSeenWriteSeconds).toBe(60);
    for (const bad of ['0', '-5', '86401', 'soon', '1.5'])
      expect(() => loadAppConfig({ AGENT_ONLINE_SECONDS: bad })).toThrow(/AGENT_ONLINE_SECONDS/);
  });

  it('a throttle of that interval records an agent again once it has passed', () => {
    const throttle = new UsageThrottle(500);
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      expect(throttle.shouldRecord(7)).toBe(true);
      now.mockReturnValue(1_000_400);
      expect(throttle.shouldRecord(7)).toBe(false);
      expect(throttle.shouldRecord(7, '["os=linux",["zap"]]')).toBe(true);
      now.mockReturnValue(1_000_950);
      expect(throttle.shouldRecord(7)).toBe(true);
    } finally {
      now.mockRestore();
    }
  });
});
