/**
 * What the vendor's ThreadFix client needs beside the REST calls themselves (each served by the
 * module that owns its resource: teams, applications, scans): its Networks handshake.
 */
import { Module } from '@nestjs/common';
import { NetworksHandshakeController } from './networks-handshake.controller';

@Module({ controllers: [NetworksHandshakeController] })
export class ThreadFixAdminModule {}
