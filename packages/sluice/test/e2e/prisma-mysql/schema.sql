-- DDL for schema.prisma on MariaDB/MySQL, as `prisma migrate diff --from-empty --to-schema
-- schema.prisma --script` produces it (written by hand: the schema engine binary is not available
-- offline). Keep in sync with schema.prisma.

CREATE TABLE `User` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `email` VARCHAR(191) NOT NULL,
    `name` VARCHAR(191) NULL,
    `role` ENUM('USER', 'EDITOR', 'ADMIN') NOT NULL DEFAULT 'USER',
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `User_email_key`(`email`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE `Profile` (
    `id` VARCHAR(191) NOT NULL,
    `bio` VARCHAR(191) NULL,
    `userId` INTEGER NOT NULL,

    UNIQUE INDEX `Profile_userId_key`(`userId`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE `Post` (
    `id` VARCHAR(191) NOT NULL,
    `title` VARCHAR(191) NOT NULL,
    `slug` VARCHAR(191) NOT NULL,
    `content` TEXT NULL,
    `status` ENUM('DRAFT', 'PUBLISHED', 'ARCHIVED') NOT NULL DEFAULT 'DRAFT',
    `views` INTEGER NOT NULL DEFAULT 0,
    `rating` DOUBLE NULL,
    `metadata` JSON NULL,
    `publishedAt` DATETIME(3) NULL,
    `authorId` INTEGER NOT NULL,

    INDEX `Post_status_idx`(`status`),
    UNIQUE INDEX `Post_authorId_slug_key`(`authorId`, `slug`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE `Category` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `name` VARCHAR(191) NOT NULL,

    UNIQUE INDEX `Category_name_key`(`name`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE `AllTypes` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `str` VARCHAR(191) NOT NULL,
    `int` INTEGER NOT NULL,
    `bigInt` BIGINT NOT NULL,
    `float` DOUBLE NOT NULL,
    `decimal` DECIMAL(65, 30) NOT NULL,
    `bool` BOOLEAN NOT NULL,
    `dateTime` DATETIME(3) NOT NULL,
    `json` JSON NOT NULL,
    `bytes` LONGBLOB NOT NULL,
    `role` ENUM('USER', 'EDITOR', 'ADMIN') NOT NULL,
    `optStr` VARCHAR(191) NULL,
    `optBigInt` BIGINT NULL,
    `optDec` DECIMAL(65, 30) NULL,
    `optJson` JSON NULL,
    `optBytes` LONGBLOB NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE `_CategoryToPost` (
    `A` INTEGER NOT NULL,
    `B` VARCHAR(191) NOT NULL,

    UNIQUE INDEX `_CategoryToPost_AB_unique`(`A`, `B`),
    INDEX `_CategoryToPost_B_index`(`B`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

ALTER TABLE `Profile` ADD CONSTRAINT `Profile_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE `Post` ADD CONSTRAINT `Post_authorId_fkey` FOREIGN KEY (`authorId`) REFERENCES `User`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE `_CategoryToPost` ADD CONSTRAINT `_CategoryToPost_A_fkey` FOREIGN KEY (`A`) REFERENCES `Category`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE `_CategoryToPost` ADD CONSTRAINT `_CategoryToPost_B_fkey` FOREIGN KEY (`B`) REFERENCES `Post`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- Test-only read counter (model Probe): every row the view returns advances probe_reads.
CREATE SEQUENCE `probe_reads` NOCACHE; -- NOCACHE: next_not_cached_value counts exactly
CREATE TABLE `ProbeData` (`id` INTEGER NOT NULL, `label` VARCHAR(191) NOT NULL, PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE VIEW `Probe` AS SELECT `id`, `label`, NEXTVAL(`probe_reads`) AS `reads` FROM `ProbeData`;
