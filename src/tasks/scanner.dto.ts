import { ApiProperty } from '@nestjs/swagger';

export class ScannerJson {
  @ApiProperty({ example: 'zap' }) shortName!: string;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) displayName!: string;
}
