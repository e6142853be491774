/**
 * Wake-ups for long-polling agents (WakeupsService): infrastructure, imported by the module that
 * answers requestTask. Its LISTEN connection starts with the application and stops with it.
 */
import { Module } from '@nestjs/common';
import { WakeupsService } from './wakeups.service';

@Module({ providers: [WakeupsService], exports: [WakeupsService] })
export class WakeupsModule {}
