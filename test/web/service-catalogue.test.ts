import { expect } from 'chai';
import type { ServiceRecord } from '../../web/src/db/store.js';
import { ServiceCatalogue } from '../../web/src/service-catalogue.js';
import { sleep } from '../support/processes.js';

/** A store holding only services, counting how often the catalogue reads them. */
class ServiceList {
  reads = 0;
  services: ServiceRecord[] = [{ id: 1, name: 'sync-1.5', pattern: '{node}/1.5/{uid}' }];
  async listServices(): Promise<ServiceRecord[]> {
    this.reads++;
    return this.services;
  }
}

describe('ServiceCatalogue', () => {
  it('answers known services from its cache and unknown ones with the 404 of the catalogue', async () => {
    const list = new ServiceList();
    const catalogue = new ServiceCatalogue(list, 60_000);
    expect((await catalogue.lookup('sync', '1.5')).name).to.equal('sync-1.5');
    await expectStatus(catalogue.lookup('sync', '9.9'), 'Unsupported application version');
    await expectStatus(catalogue.lookup('mail', '1.0'), 'Unsupported application');
    expect(list.reads).to.equal(1);
  });

  it('re-reads the services on a miss at most once a second', async () => {
    const list = new ServiceList();
    const catalogue = new ServiceCatalogue(list, 60_000);
    await catalogue.lookup('sync', '1.5');
    for (let i = 0; i < 100; i++) await expectStatus(catalogue.lookup('junk', String(i)), 'Unsupported application');
    expect(list.reads).to.equal(1);
    list.services = [...list.services, { id: 2, name: 'notes-1.0', pattern: '{node}/notes/{uid}' }];
    await sleep(1050);
    expect((await catalogue.lookup('notes', '1.0')).name).to.equal('notes-1.0');
    expect(list.reads).to.equal(2);
  });
});

async function expectStatus(lookup: Promise<unknown>, description: string): Promise<void> {
  const err = await lookup.then(
    () => undefined,
    (e: unknown) => e as { httpStatus?: number; description?: string },
  );
  expect(err?.httpStatus).to.equal(404);
  expect(err?.description).to.equal(description);
}
