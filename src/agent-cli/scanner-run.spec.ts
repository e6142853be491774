import { fillPlaceholders } from './scanner-run';

describe('fillPlaceholders', () => {
  const values = {
    targetUrl: 'http://app.example/?q=1;rm -rf /',
    configFile: '/work/task-7/scan-config',
    outputFile: '/work/task-7/result.xml',
    taskId: '7',
    taskDir: '/work/task-7',
    scanner: 'zap',
  };

  it('fills every placeholder inside each argument, keeping arguments apart', () => {
    expect(
      fillPlaceholders(
        [
          'zap.sh',
          '-quickurl',
          '{targetUrl}',
          '-quickout={outputFile}',
          '--id',
          'task-{taskId}-{scanner}',
        ],
        values,
      ),
    ).toEqual([
      'zap.sh',
      '-quickurl',
      'http://app.example/?q=1;rm -rf /',
      '-quickout=/work/task-7/result.xml',
      '--id',
      'task-7-zap',
    ]);
  });

  it('does not expand placeholders found in substituted values', () => {
    expect(
      fillPlaceholders(['{targetUrl}'], { ...values, targetUrl: 'http://x/{taskId}' }),
    ).toEqual(['http://x/{taskId}']);
  });
});
