/** Generated ZAP reports for the parsers' specs (src/scans/formats/parsers). */

export function zapReport(alerts: string[]): string {
  return `<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="x"><alerts>${alerts.join('')}</alerts></site></OWASPZAPReport>`;
}

/** One ZAP alert item with one instance and ~`padding` characters of request/response traffic. */
export function alertXml(i: number, uri: string, param = 'q', padding = 0): string {
  return (
    `<alertitem><pluginid>10${i % 50}</pluginid><name>Rule ${i % 50}</name><riskcode>${i % 4}</riskcode>` +
    `<desc>&lt;p&gt;description ${i}&lt;/p&gt;</desc><instances><instance><uri>${uri}</uri><method>GET</method>` +
    `<param>${param}</param><evidence>ev ${i}</evidence>` +
    `<responsebody><![CDATA[${'r'.repeat(padding)}]]></responsebody></instance></instances>` +
    `<count>1</count><cweid>79</cweid></alertitem>\n`
  );
}

/** Streams a ZAP report of `count` alerts, `perChunk` alerts per chunk; never the whole text at once. */
export async function* generatedZap(
  count: number,
  perChunk: number,
  padding: number,
  onChunk?: () => void,
): AsyncGenerator<Buffer> {
  yield Buffer.from(
    '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="https://big.example"><alerts>',
  );
  for (let i = 0; i < count; i += perChunk) {
    let text = '';
    for (let j = i; j < Math.min(count, i + perChunk); j++) {
      text += alertXml(j, `https://big.example/app/page${j}?id=${j}`, 'q', padding);
    }
    onChunk?.();
    yield Buffer.from(text);
  }
  yield Buffer.from('</alerts></site></OWASPZAPReport>');
}
